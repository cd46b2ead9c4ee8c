/**
 * SOQL and SOSL as CodeMirror 6 languages, for `.soql` / `.sosl` files (and any
 * editor whose mime type is `text/x-soql` / `text/x-sosl`). They are stream
 * languages over the same tokenizer as the cell highlighter, with standard
 * highlighting tags, so JupyterLab's own theme colors them.
 */
import { LanguageSupport, StreamLanguage, StreamParser } from '@codemirror/language';

import { ISoqlToken, SoqlDialect, SoqlTokenKind, tokenizeSoql } from './soqlTokens';

/** Highlighting tag names (of `@lezer/highlight`'s `tags`) per token kind. */
const TAGS: Record<SoqlTokenKind, string> = {
  keyword: 'keyword',
  function: 'variableName.function',
  string: 'string',
  number: 'number',
  atom: 'atom',
  bind: 'variableName.special',
  operator: 'operator',
  punctuation: 'punctuation',
  magic: 'meta'
};

interface ILineCache {
  line: string;
  tokens: ISoqlToken[];
}

function parser(dialect: SoqlDialect): StreamParser<ILineCache> {
  return {
    name: dialect,
    startState: () => ({ line: '', tokens: [] }),
    copyState: state => ({ line: state.line, tokens: state.tokens }),
    token(stream, state) {
      // A line is tokenized once (whole, so FIELDS(…) context holds), then read.
      if (state.line !== stream.string || stream.pos === 0) {
        state.line = stream.string;
        state.tokens = tokenizeSoql(stream.string, dialect);
      }
      const next = state.tokens.find(token => token.to > stream.pos);
      if (!next) {
        stream.skipToEnd();
        return null;
      }
      if (next.from > stream.pos) {
        stream.pos = next.from;
        return null;
      }
      stream.pos = next.to;
      return TAGS[next.kind];
    },
    languageData: { closeBrackets: { brackets: ['(', "'", '{'] } }
  };
}

/** The SOQL language. */
export const soqlLanguage = StreamLanguage.define(parser('soql'));
/** The SOSL language. */
export const soslLanguage = StreamLanguage.define(parser('sosl'));

/** Language support for the editor language registry. */
export function soqlSupport(dialect: SoqlDialect = 'soql'): LanguageSupport {
  return new LanguageSupport(dialect === 'sosl' ? soslLanguage : soqlLanguage);
}
