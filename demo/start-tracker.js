// Starts recording on every demo page; tests reach the handle as window.cobrowse.
if (window.Cobrowse) {
  window.cobrowse = Cobrowse.start({ server: location.origin, projectKey: "demo", userId: "demo-user", metadata: { plan: "demo" } });
}
