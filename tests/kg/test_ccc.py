"""Climate City Contract reader: own small fixtures with hand-checkable expectations, bad
input, and a few real CCCs from ../shared/data/ccc (skipped when that folder is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kg.errors import InputError
from kg.ingest.ccc import CCC_SECTIONS, CccDocument, EmissionsRow, Passage, read_ccc, split_passages

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ccc"
CCC_DIR = (Path(os.environ["PEERLEARN_SHARED_DATA"]) / "ccc" if os.environ.get("PEERLEARN_SHARED_DATA")
           else Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ccc")


def _by_section(doc: CccDocument, section: str) -> list[Passage]:
    return [p for p in doc.passages if p.section == section]


def _check_invariants(doc: CccDocument, *, max_words: int = 200) -> None:
    assert [p.position for p in doc.passages] == list(range(len(doc.passages)))
    assert all(8 <= len(p.text.split()) <= max_words for p in doc.passages)
    assert set(doc.sections) <= set(CCC_SECTIONS)
    assert len(set(doc.sections)) == len(doc.sections)
    assert {p.section for p in doc.passages} <= set(doc.sections) | {"intro"}
    for p in doc.passages:
        assert p.text == " ".join(p.text.split())  # whitespace-normalised
        assert "![" not in p.text and "](" not in p.text and "<br" not in p.text


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def riverton() -> CccDocument:
    return read_ccc(FIXTURES / "riverton.md")


@pytest.fixture(scope="module")
def hillmouth() -> CccDocument:
    return read_ccc(FIXTURES / "hillmouth.md")


class TestSections:
    def test_all_nine_modules_in_order(self, riverton):
        assert riverton.sections == CCC_SECTIONS
        _check_invariants(riverton)

    def test_table_of_contents_is_skipped(self, riverton):
        # the TOC lists every module with a page number; none of it becomes a passage
        assert not any("... " in p.text or p.text.endswith(" 4") for p in riverton.passages)
        assert riverton.passages[0].section == "intro"
        assert "river port of about ninety thousand" in riverton.passages[0].text

    def test_passages_follow_their_module_heading(self, riverton):
        a3 = _by_section(riverton, "A-3")
        assert len(a3) == 1
        assert a3[0].section_title == "2.3 Module A-3 Systemic Barriers and Opportunities to 2030 Climate Neutrality"
        # the sub-heading "A-3.2: ..." stays inside A-3, as text
        assert "shortage of skilled installers" in a3[0].text
        assert a3[0].text.startswith("A-3.2: Description of systemic barriers.")
        assert "heritage" not in a3[0].text
        assert "ferry" in _by_section(riverton, "A-2")[0].text
        assert "ambassadors" in _by_section(riverton, "C-2")[0].text

    def test_part_heading_text_goes_to_the_first_module_of_the_part(self, riverton):
        a1 = _by_section(riverton, "A-1")
        assert a1[0].text.startswith("Part A describes where Riverton stands today")

    def test_after_the_action_plan_comes_intro(self, riverton):
        tail = riverton.passages[-3:]
        assert [p.section for p in tail] == ["intro", "intro", "intro"]
        assert [p.section_title for p in tail] == [
            "5 Outlook and next steps",
            "2030 Climate Neutrality Commitments",
            "Module IP-A1: Existing funding for climate action",
        ]
        # the Investment Plan's own "A-1.1" does not reopen module A-1
        assert "National grant schemes" in tail[-1].text

    def test_other_heading_styles(self, hillmouth):
        assert hillmouth.sections == ("A-1", "A-2", "A-3", "B-1", "B-2", "B-3", "C-1", "C-2")
        titles = {p.section: p.section_title for p in hillmouth.passages}
        assert titles["A-1"] == "2.1 (A-1) Greenhouse Gas Emissions Baseline Inventory"
        assert titles["A-2"] == "MODULE A-2"                                   # plain line
        assert titles["A-3"] == "Module A-3: Systemic barriers and opportunities"  # bold line
        assert titles["B-1"] == "AP4 B-1 Climate Neutrality Scenarios and Impact Pathways"
        assert titles["B-2"] == "Module 4-2: Climate Neutrality Portfolio Design"  # bad code, title words
        assert titles["B-3"] == "B3-INDICATORS FOR MONITORING, EVALUATION AND LEARNING"
        assert titles["C-1"] == "Section C-1 Governance innovation interventions"
        assert titles["C-2"] == "Social Innovation Interventions"              # title only
        _check_invariants(hillmouth)

    def test_action_id_in_an_annex_does_not_reopen_a_module(self, hillmouth):
        last = hillmouth.passages[-1]
        assert last.section == "intro" and last.section_title == "Annex 1"
        assert "bike lanes" in last.text
        assert len(_by_section(hillmouth, "B-2")) == 1


class TestNoise:
    def test_images_page_numbers_and_running_headers_are_gone(self, riverton):
        text = " ".join(p.text for p in riverton.passages)
        assert "img-" not in text
        assert "RIVERTON CLIMATE PLAN" not in text  # repeated on every "page"
        assert "\n" not in text and " 14 " not in f" {text} "  # the page number line
        assert "Table 3 shows" in text  # a number inside a sentence stays

    def test_table_rows_with_words_stay_numeric_rows_go(self, riverton):
        a3 = _by_section(riverton, "A-3")[0].text
        assert "Grid capacity | The distribution grid in the harbour district is congested" in a3
        assert "45" not in a3
        a1 = " ".join(p.text for p in _by_section(riverton, "A-1"))
        assert "512.4" not in a1 and "305.5" not in a1 and "Scope 1" not in a1


class TestPassageSizes:
    def test_long_module_is_cut_between_sentences(self, riverton):
        b2 = _by_section(riverton, "B-2")
        assert len(b2) == 2
        assert all(p.text.endswith(".") for p in b2)
        assert b2[1].text.startswith("In the energy field")
        assert sum(len(p.text.split()) for p in b2) == 275

    def test_smaller_limits(self):
        doc = read_ccc(FIXTURES / "riverton.md", target_words=40, max_words=60)
        _check_invariants(doc, max_words=60)
        assert len(_by_section(doc, "B-2")) >= 5

    def test_split_passages_keeps_paragraphs_together(self):
        text = "One two three four five.\n\nSix seven eight nine ten.\n\n\nEleven twelve."
        assert split_passages(text, target_words=20, max_words=30) == [
            "One two three four five. Six seven eight nine ten. Eleven twelve."
        ]

    def test_split_passages_prefers_paragraph_boundaries(self):
        p1 = " ".join(["alpha"] * 9) + "."
        p2 = " ".join(["beta"] * 9) + "."
        assert split_passages(f"{p1}\n\n{p2}", target_words=10, max_words=15) == [p1, p2]

    def test_split_passages_cuts_a_sentence_only_when_it_alone_is_too_long(self):
        sentences = [f"Sentence {i} has exactly six words." for i in range(30)]  # 180 words
        out = split_passages(" ".join(sentences), target_words=20, max_words=25)
        assert all(len(p.split()) <= 25 for p in out)
        assert all(p.startswith("Sentence") and p.endswith("words.") for p in out)
        long_one = " ".join(["word"] * 55)
        cut = split_passages(long_one, target_words=20, max_words=25)
        assert [len(p.split()) for p in cut] == [19, 19, 17]

    def test_split_passages_rejects_bad_limits(self):
        with pytest.raises(ValueError):
            split_passages("some text", target_words=50, max_words=20)


class TestEmissions:
    def test_kt_table_converted_to_tonnes_and_bau_table_skipped(self, riverton):
        assert riverton.emissions == (
            EmissionsRow("Buildings", "buildings", 305_500.0, 2021),
            EmissionsRow("Transport", "mobility", 185_000.0, 2021),
            EmissionsRow("Waste", "waste", 12_000.0, 2021),
            EmissionsRow("Industrial Process and Product Use (IPPU)", "industry", 8_000.0, 2021),
            EmissionsRow("Agricultural, Forestry and Land Use (AFOLU) - Sources (positive emissions)",
                         "green", 3_000.0, 2021),
            EmissionsRow("Agricultural, Forestry and Land Use (AFOLU) - Sinks (negative emissions)",
                         "green", -6_500.0, 2021),
        )
        # the rows add up to the table's own total (507.0 kt)
        assert sum(r.tonnes_co2e for r in riverton.emissions) == pytest.approx(507_000)

    def test_dot_thousands_table_without_outer_pipes(self, hillmouth):
        assert hillmouth.emissions == (
            EmissionsRow("Buildings", "buildings", 93_465.0, 2019),
            EmissionsRow("Transport", "mobility", 1_204_330.0, 2019),
            EmissionsRow("Waste", "waste", 20_105.0, 2019),
        )

    def test_no_table_no_rows(self, tmp_path):
        f = tmp_path / "plain.md"
        f.write_text("# Module A-1 Greenhouse Gas Emissions Baseline Inventory\n\n"
                     "Emissions were about two million tonnes in 2020, mostly from heating and road traffic.\n",
                     encoding="utf-8")
        assert read_ccc(f).emissions == ()

    def test_unit_missing_means_no_rows(self, tmp_path):
        f = tmp_path / "nounit.md"
        f.write_text("# Module A-1 Greenhouse Gas Emissions Baseline Inventory\n\n"
                     "| GHG emissions by source sectors | | |\n| --- | --- | --- |\n"
                     "| | Scope 1 | Total |\n| Buildings | 120000 | 120000 |\n| Transport | 90000 | 90000 |\n",
                     encoding="utf-8")
        assert read_ccc(f).emissions == ()


class TestBadInput:
    def test_missing_file(self, tmp_path):
        f = tmp_path / "nowhere.md"
        with pytest.raises(InputError, match="file not found") as e:
            read_ccc(f)
        assert str(f) in str(e.value) and "\n" not in str(e.value)

    def test_empty_file(self, tmp_path):
        f = tmp_path / "empty.md"
        f.write_text("  \n\n", encoding="utf-8")
        with pytest.raises(InputError, match="empty file") as e:
            read_ccc(f)
        assert str(f) in str(e.value)

    def test_binary_file_with_nul_bytes(self, tmp_path):
        f = tmp_path / "scan.md"
        f.write_bytes(b"%PDF-1.7\n\x00\x01\x02binary")
        with pytest.raises(InputError, match="binary file") as e:
            read_ccc(f)
        assert str(f) in str(e.value)

    def test_not_utf8(self, tmp_path):
        f = tmp_path / "latin1.md"
        f.write_bytes("# Module A-1 Émissions de gaz à effet de serre\n".encode("latin-1"))
        with pytest.raises(InputError, match="not UTF-8") as e:
            read_ccc(f)
        assert str(f) in str(e.value)

    def test_no_modules(self):
        f = FIXTURES / "newsletter.md"  # its TOC names two modules, its body none
        with pytest.raises(InputError, match=r"no Climate City Contract modules \(A-1 \.\.\. C-3\) found") as e:
            read_ccc(f)
        assert str(f) in str(e.value) and "\n" not in str(e.value)

    def test_directory(self, tmp_path):
        with pytest.raises(InputError, match="not a file"):
            read_ccc(tmp_path)


BATCH = Path(__file__).resolve().parents[1] / "fixtures" / "ccc"  # westford (good), northam, eastwick


class TestUnstructured:
    """A document without modules (a commitments document) is read by its headings when the
    caller allows it, and says so; by default it stays an error."""

    def test_passages_split_by_headings_and_flagged(self):
        doc = read_ccc(BATCH / "northam.md", allow_unstructured=True)
        assert (doc.structured, doc.sections, doc.emissions) == (False, (), ())
        assert [(p.section, p.section_title) for p in doc.passages] == [
            ("intro", "Foreword"), ("intro", "Our Priorities"), ("intro", "Collaboration"), ("intro", "Next Steps")]
        assert doc.passages[1].text.startswith("The first priority is to take homes off natural gas")
        # the running header repeated on every page is neither a heading nor text
        assert not any("Commitments" in p.text for p in doc.passages)
        _check_invariants(doc)

    def test_default_is_still_an_error(self):
        with pytest.raises(InputError, match="no Climate City Contract modules"):
            read_ccc(BATCH / "northam.md")

    def test_a_structured_document_is_read_the_same_either_way(self):
        assert read_ccc(BATCH / "westford.md", allow_unstructured=True) == read_ccc(BATCH / "westford.md")
        assert read_ccc(BATCH / "westford.md").structured is True

    def test_headings_without_text_are_still_an_error(self, tmp_path):
        f = tmp_path / "headings.md"
        f.write_text("# Climate City Contract\n\n## Commitments\n\n## Next Steps\n", encoding="utf-8")
        with pytest.raises(InputError, match="no passage of text found") as e:
            read_ccc(f, allow_unstructured=True)
        assert str(f) in str(e.value)


# ------------------------------------------------------------------------------ real CCCs


@pytest.fixture(scope="module")
def real():
    if not CCC_DIR.is_dir():
        pytest.skip(f"../shared/data/ccc not present ({CCC_DIR}); set PEERLEARN_SHARED_DATA to run")
    cache: dict[str, CccDocument] = {}

    def get(name: str) -> CccDocument:
        if name not in cache:
            path = CCC_DIR / name
            if not path.is_file():
                pytest.skip(f"{path} not present")
            cache[name] = read_ccc(path)
        return cache[name]

    return get


class TestRealDocuments:
    def test_klagenfurt_classic_template(self, real):
        doc = real("klagenfurt.md")
        assert doc.sections == CCC_SECTIONS
        _check_invariants(doc)
        a3 = " ".join(p.text for p in _by_section(doc, "A-3"))
        assert "frequent political changes" in a3 and "Corona pandemic" in a3
        # its inventory gives "CO2equivalent/year" without a mass unit: no guessing
        assert doc.emissions == ()

    def test_groningen_headings_without_codes(self, real):
        doc = real("groningen.md")
        assert {"A-1", "A-2", "A-3", "B-3", "C-1", "C-2"} <= set(doc.sections)
        a3 = _by_section(doc, "A-3")
        assert a3[0].section_title == "4.5 Systemic Barriers and Opportunities to 2030 Climate Neutrality"
        assert any("gridlock in the electric grid" in p.text for p in a3)

    def test_istanbul_parenthesised_codes_and_plain_lines(self, real):
        doc = real("istanbul.md")
        assert doc.sections == ("A-1", "A-2", "A-3", "B-1", "B-2", "B-3", "C-1", "C-2")
        assert _by_section(doc, "B-2")[0].section_title == "(B-2) Climate Neutrality Portfolio Design"

    def test_pecs_investment_plan_modules_are_not_action_plan_modules(self, real):
        doc = real("pecs.md")
        assert doc.sections == CCC_SECTIONS
        ip = [p for p in doc.passages if "IP-" in p.section_title or "Investment Plan" in p.section_title]
        assert ip and all(p.section == "intro" for p in ip)
        last_c3 = max(p.position for p in doc.passages if p.section == "C-3")
        first_ip = min(p.position for p in ip)
        assert last_c3 < first_ip

    def test_mannheim_emissions_as_in_the_table(self, real):
        # of the Mannheim CCC, base year 2020, unit tCO2equivalent/year
        assert real("Mannheim.md").emissions == (
            EmissionsRow("Buildings", "buildings", 1_978_964.0, 2020),
            EmissionsRow("Transport", "mobility", 582_344.0, 2020),
            EmissionsRow("Waste", "waste", 11_974.0, 2020),
            EmissionsRow("Industrial Process and Product Use (IPPU)", "industry", 25_728.0, 2020),
            EmissionsRow("Agricultural, Forestry and Land Use (AFOLU)", "green", 3_232.0, 2020),
        )

    def test_aarhus_dot_thousands_and_sinks(self, real):
        rows = {r.sector: r for r in real("Aarhus.md").emissions}
        assert rows["Buildings"].tonnes_co2e == 594_167.0
        assert rows["Transport"].tonnes_co2e == 680_386.0
        sinks = rows["Agricultural, Forestry and Land Use (AFOLU) - Sinks (negative emissions)"]
        assert (sinks.tonnes_co2e, sinks.domain, sinks.year) == (-25_057.0, "green", 2022)
        assert sum(r.tonnes_co2e for r in rows.values()) == 1_455_478.0  # the table's total

    def test_lahti_kilotonnes_two_years(self, real):
        rows = {(r.sector, r.year): r.tonnes_co2e for r in real("Lahti.md").emissions}
        assert rows[("Buildings", 1990)] == 470_300.0
        assert rows[("Buildings", 2021)] == 207_900.0
        assert rows[("Transport", 2021)] == 157_800.0
        assert ("Road transport", 2021) not in rows  # a breakdown of Transport, not a sector

    def test_barcelona_baseline_not_business_as_usual(self, real):
        rows = {r.sector: r for r in real("barcelona.md").emissions}
        assert rows["Transport"] == EmissionsRow("Transport", "mobility", 906_000.0, 2019)
        assert rows["Electricity"].domain == "energy"

    def test_a_document_without_modules_raises(self, real):
        path = CCC_DIR / "the_hague.md"
        if not path.is_file():
            pytest.skip(f"{path} not present")
        with pytest.raises(InputError, match="no Climate City Contract modules") as e:
            read_ccc(path)
        assert "the_hague.md" in str(e.value)

    def test_the_hague_commitments_read_by_headings(self):
        path = CCC_DIR / "the_hague.md"
        if not path.is_file():
            pytest.skip(f"{path} not present")
        doc = read_ccc(path, allow_unstructured=True)
        assert not doc.structured and doc.sections == () and doc.emissions == ()
        _check_invariants(doc)
        titles = {p.section_title for p in doc.passages}
        assert {"Foreword", "2.2 Our Emissions", "Next Steps"} <= titles
        assert any("1.534.973 tons of CO2" in p.text for p in doc.passages if p.section_title == "2.2 Our Emissions")
