// What each contender's own log says about how it ended the turns (read after the run, for the table's notes): the
// peers' end-of-turn models hold a turn they judge unfinished for a long fixed delay, which explains their slow
// answers far better than any pipeline cost.
// - LiveKit Agents (debug): "eot prediction" with endpointingDelay = maxDelay when the model said "unlikely".
// - Pipecat: Smart Turn's "End of Turn result: EndOfTurnState.COMPLETE|INCOMPLETE", and "complete due to stop_secs"
//   when an INCOMPLETE turn was ended by its silence timeout.
// - ours: a log line per turn is not needed: our end of turn is a fixed silence (no model).

export interface TurnNotes {
  /** End-of-turn decisions the contender's model made. */
  decisions: number;
  /** Of those, turns it held for its long delay because the model judged them unfinished. */
  held: number;
  /** LLM generations started (LiveKit: speech handles, preemptive ones included). */
  generations?: number;
}

export function turnNotes(id: string, log: string): TurnNotes | undefined {
  const lines = log.split('\n');
  if (id.startsWith('livekit-agents')) {
    const predictions = lines.filter((l) => l.includes('"msg":"eot prediction"'));
    const held = predictions.filter((l) => {
      const delay = /"endpointingDelay":(\d+)/.exec(l)?.[1];
      return delay !== undefined && Number(delay) >= 2_000;
    });
    const generations = lines.filter((l) => l.includes('"msg":"Creating speech handle"')).length;
    return { decisions: predictions.length, held: held.length, generations };
  }
  if (id.startsWith('pipecat')) {
    const analysed = lines.filter((l) => l.includes('End of Turn result:') && !l.includes('stop_secs'));
    const heldUntilSilence = lines.filter((l) => l.includes('End of Turn complete due to stop_secs')).length;
    // Each hold logs a second INCOMPLETE result right after the stop_secs line: count decisions without it.
    return { decisions: analysed.length - heldUntilSilence, held: heldUntilSilence };
  }
  return undefined;
}
