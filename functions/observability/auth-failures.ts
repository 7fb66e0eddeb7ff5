// Failed authentications, counted in the isolate's memory. A flood of bad credentials must not turn into a flood of
// Redis writes (that would let anyone without a key spend our Redis budget), so these never touch Redis; /metrics
// shows this isolate's counts, which is what an alert on a spike needs.
const failures = new Map<string, number>();

export function countAuthFailure(route: string): void {
  failures.set(route, (failures.get(route) ?? 0) + 1);
}

export function authFailureCounts(): ReadonlyMap<string, number> {
  return failures;
}
