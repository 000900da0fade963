// What an agent types in the code box: the help code a user read out (docs/protocol.md, help
// codes). Pure: the box and its tests meet here. People read six digits in groups ("042 137",
// "042-137"), so spaces and dashes between the digits are dropped; anything else is not a code,
// and is refused here rather than counted by the server as a wrong guess.

/** The six digits of what was typed, or null when it is not a code. */
export function normalizeCode(typed: string): string | null {
  const digits = typed.replace(/[\s-]/g, "");
  return /^[0-9]{6}$/.test(digits) ? digits : null;
}

/** What the box says when the server refused a code: `status` and `error` of its answer. */
export function codeProblem(status: number, error: string, message: string): string {
  if (status === 404) return "No session has this code. Check the digits with the user.";
  if (status === 410 && error === "expired") return "This code has expired. Ask the user to get a new one.";
  if (status === 410 && error === "used") return "This code was already used. Ask the user to get a new one.";
  if (status === 429) return `Too many wrong codes. ${message.replace(/^.*; /, "").replace(/^t/, "T")}.`;
  if (status === 400) return "A code is 6 digits.";
  return message;
}
