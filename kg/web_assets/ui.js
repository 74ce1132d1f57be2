// peerlearn query UI: YASGUI with one ready-to-run tab per example query.
// The examples come as JSON embedded by the server; nothing is fetched from other sites.
(function () {
  "use strict";
  var examples = JSON.parse(document.getElementById("peerlearn-examples").textContent);
  var endpoint = new URL("sparql", window.location.href).href;
  document.getElementById("pl-endpoint").textContent = endpoint;

  // YASQE's "property" and "class" autocompleters query the LOV API on another site: off.
  var Yasqe = Yasgui.Yasqe;
  var local = Yasqe.defaults.autocompleters.filter(function (n) {
    return n !== "property" && n !== "class";
  });
  Yasqe.defaults.autocompleters = local;

  function hash(s) {
    var h = 5381;
    for (var i = 0; i < s.length; i++) h = ((h << 5) + h + s.charCodeAt(i)) | 0;
    return (h >>> 0).toString(36);
  }
  // Stored tabs are reused until the example library (or the server's address) changes.
  var key = "peerlearn-" + hash(window.location.host + JSON.stringify(
    examples.map(function (e) { return [e.name, e.query]; })));

  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: key,
    populateFromUrl: false,
    autoAddOnInit: examples.length === 0,
    yasqe: { autocompleters: local },
  });

  if (examples.length && yasgui.persistentConfig.getTabs().length === 0) {
    examples.forEach(function (ex, i) {
      yasgui.addTab(i === 0, {
        name: ex.title,
        yasqe: { value: ex.query },
        requestConfig: { endpoint: endpoint },
      });
    });
  }

  var byTitle = {};
  examples.forEach(function (ex) { byTitle[ex.title] = ex; });
  function describe() {
    var tab = yasgui.getTab();
    var ex = tab && byTitle[tab.name()];
    document.getElementById("pl-description").textContent = ex ? ex.description : "";
  }
  yasgui.on("tabSelect", function () { setTimeout(describe, 0); });
  describe();
  window.peerlearnYasgui = yasgui;  // for tests and the console
})();
