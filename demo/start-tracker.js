// Starts recording on every demo page; tests reach the handle as window.cobrowse.
if (window.Cobrowse) {
  // The demo records its console (the console panel shows it); a real site opts in knowingly.
  window.cobrowse = Cobrowse.start({
    server: location.origin, projectKey: "demo", userId: "demo-user", metadata: { plan: "demo" }, console: true,
  });
}
