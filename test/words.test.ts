import t from 'tap';
import { ValueError } from '../src/unit/diagnostics.js';
import { cescape, cunescape, cunescapeOne, UNESCAPE_ACCEPT_NUL, UNESCAPE_RELAX, utf8IsValid } from '../src/unit/escape.js';
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
  extractManyWords,
  extractWords,
  WHITESPACE,
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

t.test('whitespace splitting and CUNESCAPE without UNQUOTE', async (t) => {
  t.equal(WHITESPACE, ' \t\n\r');
  t.same(extractWords('  a  b\tc \r\n', 0), ['a', 'b', 'c']);
  t.same(extractWords('', 0), []);
  t.same(extractWords('   ', 0), []);
  t.same(extractWords('\\x41\\101\\u00e9\\s', EXTRACT_CUNESCAPE), ['AAé ']);
  t.same(extractWords('x\\ty "\\n"', UQ_CU), ['x\ty', '\n']);
  t.equal(reason(() => extractWords('\\q', EXTRACT_CUNESCAPE)), 'invalid-escape');
  t.same(extractWords('\\q', EXTRACT_CUNESCAPE | EXTRACT_UNESCAPE_RELAX), ['\\q']);
  t.ok(new ExtractError('unbalanced-quotes', 'x') instanceof ValueError, 'ExtractError is a ValueError');
});

t.test('DONT_COALESCE_SEPARATORS: read positions', async (t) => {
  const DC = EXTRACT_DONT_COALESCE_SEPARATORS;
  t.same(extractFirstWord('1024:', 0, ':', DC), { word: '1024', pos: 5 });
  t.same(extractFirstWord('1024:', 5, ':', DC), { word: '', pos: null }, 'an empty last field');
  t.same(extractFirstWord(':x', 0, ':', DC), { word: '', pos: 1 });
  t.same(extractFirstWord('', 0, ':', DC), { word: '', pos: null });
  t.same(extractFirstWord('', 0, ':', 0), { word: null, pos: null });
  t.same(extractFirstWord('a:b', 0, ':', DC | EXTRACT_RETAIN_SEPARATORS), { word: 'a', pos: 1 });
  t.same(extractWords('s\\:t:u', EXTRACT_UNESCAPE_SEPARATORS, ':'), ['s:t', 'u']);
});

t.test('extract_many_words()', async (t) => {
  t.same(extractManyWords('a:b:c', 0, 2, ':', 0), { words: ['a', 'b'], count: 2, pos: 4 });
  t.same(extractManyWords('a', 0, 2, ':', 0), { words: ['a', null], count: 1, pos: null });
  t.same(extractManyWords(':', 0, 2, ':', 0), { words: [null, null], count: 0, pos: null });
  t.same(extractManyWords('x', null, 1, null, 0), { words: [null], count: 0, pos: null });
  t.same(extractManyWords('s\\:t:u\\x41', 0, 2, ':', EXTRACT_CUNESCAPE | EXTRACT_UNESCAPE_SEPARATORS), { words: ['s:t', 'uA'], count: 2, pos: null });
  t.equal(reason(() => extractManyWords('a:\\q', 0, 2, ':', EXTRACT_CUNESCAPE)), 'invalid-escape');
});

// The second port (values/extract.ts, removed) turned \xNN/\NNN bytes into U+0080…U+00FF
// characters and accepted \U of non-characters; systemd emits raw bytes (so \xc3\xa9 is
// UTF-8 "é") and cunescape_one() refuses \U code points that fail unichar_is_valid().
t.test('escaped bytes are UTF-8, as in systemd (not Latin-1)', async (t) => {
  const CU_SEP = EXTRACT_CUNESCAPE | EXTRACT_UNESCAPE_SEPARATORS;
  t.same(extractWords('caf\\xc3\\xa9:d\\303\\251j\\xc3\\xa0', CU_SEP, ':'), ['café', 'déjà']);
  t.equal(reason(() => extractWords('\\xe9', CU_SEP, ':')), 'invalid-utf8', 'a lone Latin-1 byte is not text');
  t.equal(reason(() => extractWords('\\ud800', CU_SEP, ':')), 'invalid-utf8', '\\u of a surrogate encodes to invalid UTF-8');
  t.equal(reason(() => extractWords('\\U0000FDD0', CU_SEP, ':')), 'invalid-escape');
  t.equal(reason(() => extractWords('\\U0000FFFE', CU_SEP, ':')), 'invalid-escape');
  t.equal(reason(() => extractWords('\\U00110000', CU_SEP, ':')), 'invalid-escape');
  t.same(extractWords('\\U0010FFFD', CU_SEP, ':'), ['\u{10FFFD}']);
});

t.test('cunescape_one()', async (t) => {
  t.same(cunescapeOne('n', 0, false), { kind: 'codepoint', value: 0x0a, length: 1 });
  t.same(cunescapeOne('x41', 0, false), { kind: 'byte', value: 0x41, length: 3 });
  t.same(cunescapeOne('xc3', 0, false), { kind: 'byte', value: 0xc3, length: 3 });
  t.equal(cunescapeOne('x00', 0, false), undefined, 'no NUL bytes');
  t.same(cunescapeOne('x00', 0, true), { kind: 'byte', value: 0, length: 3 });
  t.equal(cunescapeOne('400', 0, false), undefined, 'octal above 255');
  t.same(cunescapeOne('377', 0, false), { kind: 'byte', value: 0xff, length: 3 });
  t.same(cunescapeOne('U0001F600', 0, false), { kind: 'codepoint', value: 0x1f600, length: 9 });
  t.same(cunescapeOne('s', 0, false), { kind: 'codepoint', value: 0x20, length: 1 });
  t.equal(cunescapeOne('q', 0, false), undefined);
  t.equal(cunescapeOne('', 0, false), undefined);
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
