import { normaliseHostname } from '../../src/domain/hostname';

/**
 * Confusable and malformed names: each is refused with a reason, or becomes exactly the
 * documented canonical name; none may turn into another hostname silently.
 */
const refused: [string, string][] = [
  ['goo%64.example.test', '"%"'],
  ['happy.example.test%5Cx', '"%"'],
  ['%E0%A4%A.example.test', '"%"'],
  ['www%2eexample.test', '"%"'],
  ['bs.example.test\\evil', 'backslash'],
  ['\\\\server.example.test', 'backslash'],
  ['soft\u00ADhyphen.example.test', 'invisible'],
  ['zero\u200Bwidth.example.test', 'invisible'],
  ['zero\u200Cjoiner.example.test', 'invisible'],
  ['zero\u200Djoiner.example.test', 'invisible'],
  ['word\u2060joiner.example.test', 'invisible'],
  ['bom\uFEFF.example.test', 'invisible'],
  ['rtl\u202Eoverride.example.test', 'invisible'],
  ['lrm\u200E.example.test', 'invisible'],
  ['mongolian\u180Evs.example.test', 'invisible'],
  ['variation\uFE0Fselector.example.test', 'invisible'],
  ['tab\tinside.example.test', 'control'],
  ['new\nline.example.test', 'control'],
  ['nul\u0000.example.test', 'control'],
  ['del\u007F.example.test', 'control'],
  ['c1\u0085.example.test', 'control'],
  ['inner space.example.test', 'bare hostname'],
  ['nbsp\u00A0.example.test', 'bare hostname'],
  ['ideographic\u3000space.example.test', 'bare hostname'],
  ['line\u2028sep.example.test', 'bare hostname'],
  ['ideographic\u3002dot.example.test', 'lookalike'],
  ['fullwidth\uFF0Edot.example.test', 'lookalike'],
  ['halfwidth\uFF61dot.example.test', 'lookalike'],
  ['one\u2024dot.example.test', 'lookalike'],
  ['p\u0430ypal.example.test', 'mixes scripts'], // Cyrillic a
  ['\u0440aypal.example.test', 'mixes scripts'], // Cyrillic er
  ['g\u03BFogle.example.test', 'mixes scripts'], // Greek omicron
  ['\uFB01le.example.test', 'IDNA mapping'], // fi ligature
  ['x\u00B2.example.test', 'IDNA mapping'], // superscript two
  ['\u2460one.example.test', 'IDNA mapping'], // circled digit
  ['\u212Aelvin.example.test', 'lookalike'], // Kelvin sign, whose lower case is ASCII k
  ['user@host.example.test', 'bare hostname'],
  ['host.example.test/path', 'bare hostname'],
  ['host.example.test:8443', 'bare hostname'],
  ['host.example.test?q', 'bare hostname'],
  ['host.example.test#f', 'bare hostname'],
  [`${'a'.repeat(64)}.example.test`, 'invalid label'],
  [`${'abcdefghi.'.repeat(26)}test`, 'longer than 253'],
  ['under_score.example.test', 'invalid label'],
  ['xn--a.example.test', 'not a valid DNS name'],
  ['goo\uFF0564.example.test', '"%"'], // fullwidth percent sign
  ['name\uFF3Cx.example.test', 'backslash'], // fullwidth backslash
  ['\tleading-tab.example.test', 'control'],
  ['trailing-tab.example.test\t', 'control'],
  ['1.2.3.4.', 'IP address'],
  ['xn--pypal-4ve.example.test', 'mixes scripts'], // the A-label of a Cyrillic-a paypal
];

const canonical: [string, string][] = [
  ['WWW.Example.TEST', 'www.example.test'],
  ['www.example.test.', 'www.example.test'],
  ['\uFF57\uFF57\uFF57.example.test', 'www.example.test'], // fullwidth www
  ['b\u00FCcher.example.test', 'xn--bcher-kva.example.test'],
  ['B\u00DCCHER.example.test', 'xn--bcher-kva.example.test'],
  ['xn--bcher-kva.example.test', 'xn--bcher-kva.example.test'],
  ['stra\u00DFe.example.test', 'xn--strae-oqa.example.test'], // nontransitional: sharp s kept
  ['\u65E5\u672C\u8A9Etest.example.test', 'xn--test-f79hm9d2w6i.example.test'], // Han with Latin
  ['\u043F\u0440\u0438\u043C\u0435\u0440.example.test', 'xn--e1afmkfd.example.test'], // all Cyrillic
];

describe('hostname corpus (confusable and malformed names)', () => {
  it('has at least 40 names', () => {
    expect(refused.length + canonical.length).toBeGreaterThanOrEqual(40);
  });

  it.each(refused)('refuses %j (%s)', (input, reason) => {
    const verdict = normaliseHostname(input);
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it.each(canonical)('canonicalises %j to %s', (input, expected) => {
    expect(normaliseHostname(input)).toEqual({ ok: true, hostname: expected });
  });
});
