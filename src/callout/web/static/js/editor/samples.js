// The sample trigger payload of a workflow, kept for this browser tab.
// Test step, "Infer from sample" and Run all start from it, so it is typed once. It lives in
// sessionStorage (this tab, until it closes), not localStorage: payloads may hold personal data.

const PREFIX = "callout.sample.";

export function sampleOf(workflowId) {
  try {
    return window.sessionStorage.getItem(PREFIX + workflowId);
  } catch {
    return null; // storage disabled: nothing kept
  }
}

export function keepSample(workflowId, text) {
  try {
    if (text && text.trim()) window.sessionStorage.setItem(PREFIX + workflowId, text);
    else window.sessionStorage.removeItem(PREFIX + workflowId);
  } catch {
    // storage disabled or full: the sample stays in the page only
  }
}
