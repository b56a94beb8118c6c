// The page is a set of panels, each in one view (Overview, Activity, ...). A panel is a module that
// calls addPanel() when imported; main.js imports them in the order they appear. Adding a panel is one
// new module and one import line.
//
// addPanel({
//   id: "diagnostics",          // the panel's body is <div id="diagnostics">; its section #diagnostics-panel
//   view: "overview",           // where it is shown (route.js VIEWS)
//   title: "Why mail bounces",  // its heading
//   hint: "...",                // optional: one line under the heading
//   wide: true,                 // optional: the whole width of the page
//   build(body) {},             // optional: once, to add forms and the like
//   async load(context) {},     // fill the body; context.auto is true for an automatic refresh,
//                               // context.route is {view, params}. Throw an ApiError on failure.
//   onRoute(route) {},          // optional: the URL changed while the view is shown
// })

export const panels = [];

export function addPanel(panel) {
  panels.push(panel);
}
