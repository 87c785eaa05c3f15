// The benchmark's app: one orchestration fans out N trivial activities and sums their results.
import * as df from 'durable-functions';

df.app.activity('square', { handler: (n) => n * n });

df.app.orchestration('fanOut', function* (context) {
  const n = context.df.getInput();
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(context.df.callActivity('square', i));
  const results = yield context.df.Task.all(tasks);
  return results.reduce((a, b) => a + b, 0);
});
