#!/usr/bin/env python3
"""Generate canonical-JSON test vectors for SignetJSON from securesystemslib.

Each vector is a JSON input document (exact bytes) and the bytes that
securesystemslib's encode_canonical produces for it. The Swift tests parse the
input with SignetJSON, canonicalise it, and compare byte for byte.

Usage: scripts/gen-canonical-vectors.py [OUTPUT_DIR]
       (default OUTPUT_DIR: TestVectors/canonical-json next to this script's parent)
Needs: pip install securesystemslib
"""

import base64
import json
import os
import sys

try:
    from securesystemslib.formats import encode_canonical
except ImportError:  # very old releases kept it elsewhere
    from securesystemslib.util import encode_canonical  # type: ignore

import securesystemslib


def strict_pairs(pairs):
    """object_pairs_hook that refuses duplicate keys, as SignetJSON does."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key %r in vector input" % key)
        result[key] = value
    return result


def reject_constant(name):
    raise ValueError("non-standard constant %s in vector input" % name)


def reject_float(text):
    raise ValueError("float %s in vector input (canonical JSON has no floats)" % text)


# (name, input document as Python str; encoded to UTF-8 bytes as written)
DOCUMENTS = [
    ("empty-object", "{}"),
    ("empty-array", "[]"),
    ("nested-empties", '{"d":[{}],"c":[[]],"b":[],"a":{}}'),
    ("whitespace-everywhere", ' \t\r\n{ "b" :\t[ 1 , 2 ] ,\r\n "a" : { } }\n '),
    ("top-level-string", '"plain"'),
    ("top-level-integer", "-42"),
    ("top-level-true", "true"),
    ("top-level-false", "false"),
    ("top-level-null", "null"),
    ("integers", "[0,-0,1,-1,10,-10,1000000,9223372036854775807,-9223372036854775808]"),
    ("nested-arrays", "[[[1,[2,[3,[]]]]],[],[[[]]],[null,true,false]]"),
    ("simple-sort", '{"z":1,"y":2,"x":3,"b":4,"a":5}'),
    ("case-and-punctuation-order", '{"b":1,"a":2,"_":3,"B":4,"A":5,"0":6,"~":7," ":8}'),
    ("prefix-keys", '{"ab":1,"a\\u0000":2,"b":3,"a":4,"":5}'),
    ("escapes-in-string",
     '{"s":"quote \\" backslash \\\\ slash \\/ b\\b f\\f n\\n r\\r t\\t one\\u0001 nul\\u0000 us\\u001f del\\u007f"}'),
    ("escapes-in-keys", '{"a\\"b":1,"a\\\\b":2,"a/b":3,"a\\/c":4}'),
    ("control-character-keys", '{"\\u001f":1,"\\t":2,"\\u0000":3,"\\n":4,"\\r":5}'),
    ("unicode-escapes-bmp-and-astral", '["\\u00e9","\\u4e2d\\u6587","\\ud834\\udd1e","\\ud83d\\ude00","\\uffff"]'),
    ("raw-utf8-strings", '["é","中文","𝄞","😀","\U0010ffff","\u0080","\u07ff","\u0800"]'),
    ("unicode-keys-with-astral", '{"😀":1,"a":2,"é":3,"z":4,"éx":5,"𝄞":6,"中":7}'),
    ("normalisation-distinct-keys", '{"\u00e9":"precomposed","e\u0301":"decomposed"}'),
    ("normalisation-escaped-keys", '{"\\u00e9":1,"e\\u0301":2,"\\u0065\\u0301x":3}'),
    ("utf8-vs-utf16-order", '{"\\uff61":"halfwidth ideographic full stop","\\ud83d\\ude00":"grinning face"}'),
    ("utf8-vs-utf16-order-raw", '{"\uff61":1,"😀":2,"\ue000":3,"\U00010000":4,"\ud7ff":5}'),
    ("many-keys-reverse", "{" + ",".join('"k%02d":%d' % (i, i) for i in range(30, 0, -1)) + "}"),
    ("many-keys-mixed-unicode",
     "{" + ",".join('"%s":%d' % (k, i) for i, k in enumerate(
         ["\u00e9", "e\u0301", "z", "\uff61", "😀", "A", "a", "\u0100", "\u00ff", "\u0800",
          "\U0001f601", "\U00010000", "0", "~", "\u007f"])) + "}"),
    ("tuf-like-root",
     '{"signatures":[{"keyid":"ab12","sig":"00ff"}],"signed":{"_type":"root","spec_version":"1.0.31",'
     '"consistent_snapshot":true,"expires":"2030-01-01T00:00:00Z","version":7,'
     '"keys":{"ab12":{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"deadbeef"}}},'
     '"roles":{"timestamp":{"keyids":["ab12"],"threshold":1},"root":{"keyids":["ab12"],"threshold":1}}}}'),
    ("tuf-like-targets",
     '{"signed":{"targets":{"b/file.txt":{"length":5,"hashes":{"sha256":"aa","sha512":"bb"}},'
     '"a/\u00e9t\u00e9.tar.gz":{"length":0,"hashes":{"sha256":"cc"},"custom":{"x":[1,{"y":null}]}}},'
     '"_type":"targets","version":1,"expires":"2030-01-01T00:00:00Z","spec_version":"1.0.31"},'
     '"signatures":[]}'),
    ("deep-nesting", "[" * 40 + '{"k":' + "[" * 10 + "0" + "]" * 10 + "}" + "]" * 40),
    ("strings-with-many-quotes", '["\\"\\"\\"", "\\\\\\\\", "mixed \\\\\\" end", ""]'),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(here), "TestVectors", "canonical-json")
    os.makedirs(out_dir, exist_ok=True)
    vectors = []
    names = set()
    for name, text in DOCUMENTS:
        if name in names:
            raise SystemExit("duplicate vector name " + name)
        names.add(name)
        data = text.encode("utf-8")
        value = json.loads(data.decode("utf-8"), object_pairs_hook=strict_pairs,
                           parse_constant=reject_constant, parse_float=reject_float)
        canonical = encode_canonical(value).encode("utf-8")
        vectors.append({
            "name": name,
            "input_b64": base64.b64encode(data).decode("ascii"),
            "canonical_b64": base64.b64encode(canonical).decode("ascii"),
        })
    path = os.path.join(out_dir, "vectors.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(vectors, handle, indent=2)
        handle.write("\n")
    print("wrote %d vectors to %s (securesystemslib %s, Python %s)" % (
        len(vectors), path, securesystemslib.__version__, sys.version.split()[0]))


if __name__ == "__main__":
    main()
