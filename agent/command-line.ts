// Splits a task's command line into argv the way Batch does on Linux: no shell is involved, so
// nothing is expanded ($HOME, globs, pipes stay literal); only quoting and backslashes are
// interpreted, with POSIX shell rules. Users who want a shell write `/bin/sh -c "..."`.

export class CommandLineError extends Error {
  override readonly name = 'CommandLineError';
}

// Inside double quotes a backslash only escapes these (POSIX sh); elsewhere it is kept.
const DOUBLE_QUOTE_ESCAPABLE = new Set(['"', '\\', '$', '`', '\n']);

export function splitCommandLine(commandLine: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once anything (even an empty pair of quotes) was seen since the last blank.
  let inWord = false;
  let i = 0;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  while (i < commandLine.length) {
    const c = commandLine[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      endWord();
      i++;
    } else if (c === "'") {
      const close = commandLine.indexOf("'", i + 1);
      if (close < 0) throw new CommandLineError(`unterminated single quote at position ${i}`);
      word += commandLine.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      for (;;) {
        if (i >= commandLine.length) throw new CommandLineError('unterminated double quote');
        const d = commandLine[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < commandLine.length && DOUBLE_QUOTE_ESCAPABLE.has(commandLine[i + 1]!)) {
          if (commandLine[i + 1] !== '\n') word += commandLine[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
    } else if (c === '\\') {
      if (i + 1 >= commandLine.length) throw new CommandLineError('command line ends with a lone backslash');
      // Backslash-newline is a line continuation: it disappears.
      if (commandLine[i + 1] !== '\n') {
        word += commandLine[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  endWord();
  if (words.length === 0) throw new CommandLineError('the command line is empty');
  return words;
}
