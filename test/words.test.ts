import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { cescape, cunescape, UNESCAPE_ACCEPT_NUL, UNESCAPE_RELAX, utf8IsValid } from '../src/unit/escape.js';
import {
  EXTRACT_CUNESCAPE,
  EXTRACT_DONT_COALESCE_SEPARATORS,
  EXTRACT_KEEP_QUOTE,
  EXTRACT_RELAX,
  EXTRACT_RETAIN_ESCAPE,
  EXTRACT_RETAIN_SEPARATORS,
  EXTRACT_UNESCAPE_RELAX,
  EXTRACT_UNESCAPE_SEPARATORS,
  EXTRACT_UNQUOTE,
  ExtractError,
  extractFirstWord,
  extractFirstWordAndWarn,
  extractWords,
} from '../src/unit/words.js';

const UQ_CU = EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE;

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ExtractError) return e.reason;
    if (e instanceof ValueError) return 'ValueError';
    throw e;
  }
  return 'no error';
}

t.test('positions follow extract_first_word(): null means exhausted', async (t) => {
  t.same(extractFirstWord('a  b', 0, null, 0), { word: 'a', pos: 3 });
  t.same(extractFirstWord('a  b', 3, null, 0), { word: 'b', pos: null });
  t.same(extractFirstWord('a  b', null, null, 0), { word: null, pos: null });
  // Trailing separators are eaten: nothing is left afterwards.
  t.same(extractFirstWord('a  ', 0, null, 0), { word: 'a', pos: null });
  t.same(extractFirstWord('   ', 0, null, 0), { word: null, pos: null });
  t.same(extractFirstWord('', 0, null, 0), { word: null, pos: null });
  t.same(extractFirstWord('a  b', 0, null, EXTRACT_RETAIN_SEPARATORS), { word: 'a', pos: 1 });
});

t.test('quotes', async (t) => {
  t.same(extractWords(`a"b c"d 'e f' ""`, EXTRACT_UNQUOTE), ['ab cd', 'e f', '']);
  t.same(extractWords(`a"b c"d 'e f'`, EXTRACT_KEEP_QUOTE), ['a"b c"d', "'e f'"]);
  t.same(extractWords(`"a b" 'c'`, 0), ['"a', 'b"', "'c'"]);
  t.same(extractWords(`"it's" 'say "hi"'`, EXTRACT_UNQUOTE), ["it's", 'say "hi"']);
  t.equal(reason(() => extractWords(`"abc`, EXTRACT_UNQUOTE)), 'unbalanced-quotes');
  t.same(extractWords(`x "abc d`, EXTRACT_UNQUOTE | EXTRACT_RELAX), ['x', 'abc d']);
  t.equal(reason(() => extractWords(`'abc`, EXTRACT_UNQUOTE)), 'unbalanced-quotes');
  t.throws(() => extractWords('a', EXTRACT_UNQUOTE | EXTRACT_KEEP_QUOTE), RangeError);
});

t.test('backslashes without CUNESCAPE just escape the next character', async (t) => {
  t.same(extractWords('a\\ b c\\\\d \\q', 0), ['a b', 'c\\d', 'q']);
  t.same(extractWords('"a\\"b"', EXTRACT_UNQUOTE), ['a"b']);
  t.same(extractWords('a\\ b', EXTRACT_RETAIN_ESCAPE), ['a\\', 'b']);
  t.equal(reason(() => extractWords('abc\\', 0)), 'trailing-backslash');
  t.same(extractWords('abc\\', EXTRACT_RELAX), ['abc']);
  t.same(extractWords('abc\\', EXTRACT_UNESCAPE_RELAX), ['abc\\']);
  // Inside quotes a trailing backslash needs RELAX even with UNESCAPE_RELAX.
  t.equal(reason(() => extractWords('"abc\\', EXTRACT_UNQUOTE | EXTRACT_UNESCAPE_RELAX)), 'trailing-backslash');
  t.same(extractWords('"abc\\', EXTRACT_UNQUOTE | EXTRACT_UNESCAPE_RELAX | EXTRACT_RELAX), ['abc\\']);
});

t.test('C escapes (EXTRACT_CUNESCAPE), inside and outside quotes', async (t) => {
  t.same(extractWords('"\\x41\\n"', UQ_CU), ['A\n']);
  t.same(extractWords("'\\x41\\n'", UQ_CU), ['A\n']);
  t.same(extractWords('\\101\\t\\s\\a\\b\\f\\v\\r\\\\\\"\\\'', UQ_CU), ['A\t \x07\b\f\v\r\\"\'']);
  t.same(extractWords('\\u00e9 \\U0001F600 \\xc3\\xa9 \\303\\251', UQ_CU), ['é', '😀', 'é', 'é']);
  t.same(extractWords('a\\x20b', UQ_CU), ['a b']);
  t.equal(reason(() => extractWords('\\q', UQ_CU)), 'invalid-escape');
  t.equal(reason(() => extractWords('\\x00', UQ_CU)), 'invalid-escape');
  t.equal(reason(() => extractWords('\\x4', UQ_CU)), 'invalid-escape');
  t.equal(reason(() => extractWords('\\400', UQ_CU)), 'invalid-escape');
  t.equal(reason(() => extractWords('\\UFFFFFFFF', UQ_CU)), 'invalid-escape');
  t.equal(reason(() => extractWords('\\xff', UQ_CU)), 'invalid-utf8');
  t.same(extractWords('\\q\\x00 x', UQ_CU | EXTRACT_UNESCAPE_RELAX), ['\\q\\x00', 'x']);
});

t.test('separators: DONT_COALESCE and UNESCAPE_SEPARATORS', async (t) => {
  t.same(extractWords('a::b:', EXTRACT_DONT_COALESCE_SEPARATORS, ':'), ['a', '', 'b', '']);
  t.same(extractWords('', EXTRACT_DONT_COALESCE_SEPARATORS, ':'), ['']);
  t.same(extractWords('a::b', 0, ':'), ['a', 'b']);
  t.same(extractWords('a\\,b,c\\\\d', EXTRACT_UNESCAPE_SEPARATORS, ','), ['a,b', 'c\\d']);
  t.equal(reason(() => extractWords('a\\xb', EXTRACT_UNESCAPE_SEPARATORS, ',')), 'invalid-escape');
  t.same(extractWords('a\\xb', EXTRACT_UNESCAPE_SEPARATORS | EXTRACT_UNESCAPE_RELAX, ','), ['a\\xb']);
  // CUNESCAPE first, then escaped separators.
  t.same(extractWords('a\\:\\tb', EXTRACT_CUNESCAPE | EXTRACT_UNESCAPE_SEPARATORS, ':'), ['a:\tb']);
});

t.test('extract_first_word_and_warn(): unknown escapes are kept with a warning', async (t) => {
  const warnings: string[] = [];
  const r = extractFirstWordAndWarn('grep \\d+ x', 5, null, UQ_CU, (m) => warnings.push(m));
  t.same(r, { word: '\\d+', pos: 9 });
  t.same(warnings, ['Ignoring unknown escape sequences: "\\d+"']);
  t.throws(() => extractFirstWordAndWarn('"abc', 0, null, UQ_CU), { message: 'Unbalanced quoting, ignoring: ""abc"' });
  t.throws(() => extractFirstWordAndWarn('\\xff', 0, null, UQ_CU), { message: /Unable to decode word/ });
});

t.test('cunescape() and cescape()', async (t) => {
  t.equal(cunescape('a\\tb\\x41\\101\\u00e9'), 'a\tbAAé');
  t.equal(reason(() => cunescape('\\q')), 'ValueError');
  t.equal(reason(() => cunescape('abc\\')), 'ValueError');
  t.equal(cunescape('\\q\\x4 abc\\', UNESCAPE_RELAX), '\\q\\x4 abc\\');
  t.equal(reason(() => cunescape('\\x00')), 'ValueError');
  t.equal(cunescape('\\x00', UNESCAPE_ACCEPT_NUL), '\0');
  t.equal(cescape('a\tb"\'\\é\x01\x7f'), 'a\\tb\\"\\\'\\\\\\303\\251\\001\\177');
  t.equal(cunescape(cescape('tab\there é\n')), 'tab\there é\n');
});

t.test('utf8IsValid() follows systemd (non-characters are invalid)', async (t) => {
  t.ok(utf8IsValid('héllo 😀'));
  t.notOk(utf8IsValid('\uFFFE'));
  t.notOk(utf8IsValid('\uFDD0'));
  t.notOk(utf8IsValid('\uD800'));
});
