"""Facts about places that evidence may state: the national official languages of the
countries in the data (ISO 3166-1 alpha-2 -> language names in English).

Regional co-official languages (Catalan, Basque, Welsh, ...) are left out: "both countries
have X as an official language" must be true of the whole country. A country missing here
is simply never said to share a language.
"""

from __future__ import annotations

OFFICIAL_LANGUAGES: dict[str, tuple[str, ...]] = {
    "AL": ("Albanian",), "AT": ("German",), "BA": ("Bosnian", "Croatian", "Serbian"),
    "BE": ("Dutch", "French", "German"), "BG": ("Bulgarian",), "CH": ("German", "French", "Italian"),
    "CY": ("Greek", "Turkish"), "CZ": ("Czech",), "DE": ("German",), "DK": ("Danish",),
    "EE": ("Estonian",), "ES": ("Spanish",), "FI": ("Finnish", "Swedish"), "FR": ("French",),
    "GB": ("English",), "GR": ("Greek",), "HR": ("Croatian",), "HU": ("Hungarian",),
    "IE": ("Irish", "English"), "IL": ("Hebrew",), "IS": ("Icelandic",), "IT": ("Italian",),
    "LT": ("Lithuanian",), "LU": ("Luxembourgish", "French", "German"), "LV": ("Latvian",),
    "ME": ("Montenegrin",), "MK": ("Macedonian", "Albanian"), "MT": ("Maltese", "English"),
    "NL": ("Dutch",), "NO": ("Norwegian",), "PL": ("Polish",), "PT": ("Portuguese",),
    "RO": ("Romanian",), "RS": ("Serbian",), "SE": ("Swedish",), "SI": ("Slovene",),
    "SK": ("Slovak",), "TR": ("Turkish",), "UA": ("Ukrainian",),
}


def shared_languages(a: str, b: str) -> list[str]:
    """Official languages of both countries, in ``a``'s order.

    >>> shared_languages("AT", "DE"), shared_languages("BE", "FR"), shared_languages("IE", "GB")
    (['German'], ['French'], ['English'])
    >>> shared_languages("PT", "ES"), shared_languages("XX", "DE")
    ([], [])
    """
    other = set(OFFICIAL_LANGUAGES.get(b, ()))
    return [x for x in OFFICIAL_LANGUAGES.get(a, ()) if x in other]
