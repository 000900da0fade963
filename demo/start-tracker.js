// Starts recording on every demo page; tests reach the handle as window.cobrowse.
if (window.Cobrowse) {
  // `/demo/?view=ask` (or `silent`) tries the tracker's `view` option; the default is `notify`.
  const view = new URLSearchParams(location.search).get("view") ?? undefined;
  // The demo records its console (the console panel shows it); a real site opts in knowingly. It
  // shows the built-in "Get help" button, which gives the user a code to read out to an agent.
  window.cobrowse = Cobrowse.start({
    server: location.origin, projectKey: "demo", userId: "demo-user", metadata: { plan: "demo" }, console: true, view,
    helpButton: true,
  });
}
