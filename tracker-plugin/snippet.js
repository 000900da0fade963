// cobrowse async snippet: loads the tracker without blocking the page; calls made before it
// arrives are queued and replayed in order (each returns a promise of the real call's result).
// Replace the URL with your cobrowse server's. README.md, "Async snippet".
(function (w, d, src) {
  var c = (w.Cobrowse = w.Cobrowse || { q: [] });
  "start stop end identify setMetadata sessionId sessionURL requestHelp".split(" ").forEach(function (m) {
    c[m] = c[m] || function () {
      var a = arguments;
      return new Promise(function (ok, fail) { c.q.push([m, a, ok, fail]); });
    };
  });
  var s = d.createElement("script");
  s.async = true;
  s.src = src;
  if (d.currentScript && d.currentScript.nonce) s.nonce = d.currentScript.nonce;
  d.head.appendChild(s);
})(window, document, "https://cobrowse.example/tracker.js");
