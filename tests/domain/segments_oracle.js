'use strict';
/*
 * Oracle for tests/domain/test_segments_oracle.py: Twilio's sms-segments-calculator.
 *
 * Usage: node segments_oracle.js <folder holding node_modules> < cases.json
 * cases.json: [{"body": "...", "smart": false}, ...]
 * Prints {"version", "results": [...], "gcbRanges": [[first, last, property], ...]} where
 * gcbRanges is grapheme-splitter's Grapheme_Cluster_Break table (all but "Other").
 */
const fs = require('fs');
const path = require('path');

const root = process.argv[2];
if (!root) {
  throw new Error('usage: node segments_oracle.js <folder holding node_modules>');
}
const pkgDir = path.join(root, 'node_modules', 'sms-segments-calculator');
const { SegmentedMessage } = require(pkgDir);
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;

function graphemeBreakRanges() {
  const file = require.resolve('grapheme-splitter', { paths: [pkgDir] });
  const hook = 'this.nextBreak = function';
  const source = fs.readFileSync(file, 'utf8');
  if (!source.includes(hook)) {
    throw new Error('grapheme-splitter source changed: cannot expose its property table');
  }
  const exposed = source.replace(hook, `this.breakProperty = getGraphemeBreakProperty;\n${hook}`);
  const mod = { exports: {} };
  new Function('module', 'exports', exposed)(mod, mod.exports);
  const property = new mod.exports().breakProperty;
  const OTHER = 11;
  const ranges = [];
  let first = 0;
  let current = property(0);
  for (let code = 1; code <= 0x110000; code++) {
    const next = code < 0x110000 ? property(code) : -1;
    if (next !== current) {
      if (current !== OTHER) ranges.push([first, code - 1, current]);
      first = code;
      current = next;
    }
  }
  return ranges;
}

const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = cases.map(({ body, smart }) => {
  const message = new SegmentedMessage(body, 'auto', smart);
  return {
    encoding: message.encodingName,
    segments: message.segmentsCount,
    characters: message.graphemes.length,
    numberOfCharacters: message.numberOfCharacters,
    units: message.encodedChars.reduce((total, char) => total + char.codeUnits.length, 0),
    body: message.graphemes.join(''),
    nonGsm: message.getNonGsmCharacters(),
  };
});
process.stdout.write(JSON.stringify({ version, results, gcbRanges: graphemeBreakRanges() }));
