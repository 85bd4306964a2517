/**
 * Child side: notice that the orchestrator is gone (killed with SIGKILL, crashed) and end, so no
 * server or client outlives the run that started it. Two signs, either suffices: stdin (a pipe from
 * the parent) reaches EOF, or the parent pid changes (we were re-parented). Neither keeps the event
 * loop alive.
 */

/** How often the parent pid is checked, ms: an orphan ends well within 2 s. */
export const PARENT_POLL_MS = 250;

/**
 * Call `onGone` once when the parent is gone. `stdin: true` (the default) is for children started
 * with a stdin pipe from their parent (the server and client of a run); stdin data is left to other
 * listeners. Children whose stdin is not a pipe from the parent (the link's helper programs) pass
 * false and rely on the parent pid alone.
 */
export function watchParent(onGone: (why: string) => void, opts: { stdin?: boolean } = {}): void {
  const parent = process.ppid;
  let fired = false;
  const gone = (why: string) => {
    if (fired) return;
    fired = true;
    clearInterval(timer);
    onGone(why);
  };
  const timer = setInterval(() => {
    if (process.ppid !== parent) gone(`parent ${parent} is gone`);
  }, PARENT_POLL_MS);
  timer.unref();
  if (opts.stdin === false) return;
  const stdin = process.stdin;
  stdin.once('end', () => {
    gone('stdin closed');
  });
  stdin.once('error', () => {
    gone('stdin failed');
  });
  // Flowing mode (so 'end' arrives), without holding the process open (a pipe is a socket).
  stdin.resume();
  const handle = stdin as Partial<{ unref: () => void }>;
  if (typeof handle.unref === 'function') handle.unref();
}
