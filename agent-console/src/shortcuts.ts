// The session view's keyboard: Space plays or pauses, ←/→ move 5 s back or forward, L goes back
// to live, / goes to the session search. Keys typed into a field stay there, and keys with
// Ctrl/Cmd/Alt stay with the browser. Pure: a key event in, an action out.

export type ShortcutAction = "play-pause" | "back" | "forward" | "live" | "search";

/** How far ←/→ move the timeline, ms. */
export const STEP_MS = 5000;

export interface KeyInput {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  isComposing?: boolean;
}

/** What a target looks like to `isTypingTarget`: an element's tag, type and editability. */
export interface TargetInfo {
  tagName: string;
  type?: string;
  isContentEditable?: boolean;
}

/** Input types that take no typing, so shortcuts still work while one has focus. */
const NON_TEXT_INPUTS: ReadonlySet<string> = new Set(["button", "checkbox", "radio", "range", "reset", "submit", "color", "file", "image"]);

/** Whether keys pressed with focus on `target` are typing (into an input, textarea, select or editable). */
export function isTypingTarget(target: TargetInfo | null): boolean {
  if (!target) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName.toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  return tag === "INPUT" && !NON_TEXT_INPUTS.has((target.type ?? "text").toLowerCase());
}

/** The action for a keydown, or null when the key is not a shortcut there. */
export function shortcutAction(e: KeyInput, target: TargetInfo | null): ShortcutAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || isTypingTarget(target)) return null;
  switch (e.key) {
    case " ":
      // Space on a focused button or link presses it, as everywhere else.
      return target && /^(BUTTON|A|SUMMARY)$/i.test(target.tagName) ? null : "play-pause";
    case "ArrowLeft":
      return "back";
    case "ArrowRight":
      return "forward";
    case "l":
    case "L":
      return "live";
    case "/":
      return "search";
    default:
      return null;
  }
}
