"""The CLI's YAML emitter (cli/yaml.hpp) against PyYAML, a YAML 1.1 reader as strict as go-yaml v2
about booleans and numbers: for thousands of generated JSON values, yaml.safe_load of the emitted
text equals the value. Strings are drawn from the characters that trip YAML up (indicators, quotes,
spaces at the ends, ': ', ' #', look-alikes of booleans, nulls, numbers and dates, control and
Unicode line-break characters)."""
import json
import os
import random
import subprocess
import unittest

import yaml

EMIT = os.environ.get("CREDBROKER_YAML_EMIT", "")

TRICKY_WORDS = ["", "true", "False", "yes", "No", "on", "OFF", "y", "N", "null", "Null", "~", "-", "?", ":",
                "3600", "-1", "+1", "0x1F", "0o17", "017", "1_000", "1e3", "1.5", ".5", ".inf", "-.Inf", ".NaN",
                "2026-01-02", "2001-12-14t21:59:43.10-05:00", "12:30:45", "=", "<<", "!tag", "&a", "*a", "%x",
                "@x", "`x", "|", ">", "#c", "a: b", "a #b", "a:b", "key:", "[x]", "{x}", "x, y", "'q'", '"q"',
                " lead", "trail ", "tab\there", "two\nlines", "cr\rhere", "\u2028", "\u0085", "\ufeff", "caf\u00e9",
                "\u00a0nbsp", "\x7f", "\x00", "\x1b[0m", "back\\slash", "v-token-app-AbC-123", "database/creds/app/x"]
ALPHABET = "ab Z09_-./:#@!&*|>'\"%`,[]{}?=~\\\t\n\u00e9\u2028\u0085\ufeff\x01\x7f"


def random_string(rng):
    if rng.random() < 0.4:
        return rng.choice(TRICKY_WORDS)
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))


def random_value(rng, depth=0):
    kind = rng.randint(0, 9 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-10**12, 10**12)
    if kind == 3:
        return rng.choice([0.5, -2.25, 1e20, 1e-7, 3.0, 123456.789])
    if kind in (4, 5):
        return random_string(rng)
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_string(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


class YamlRoundTrip(unittest.TestCase):
    def emit(self, values):
        lines = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in values)
        out = subprocess.run([EMIT], input=lines.encode(), capture_output=True, timeout=60, check=True).stdout
        docs = out.decode().split("---end---\n")
        self.assertEqual(docs[-1], "")
        return docs[:-1]

    def test_generated_values_round_trip_through_pyyaml(self):
        self.assertTrue(EMIT, "CREDBROKER_YAML_EMIT is not set")
        rng = random.Random(1717)
        values = [random_value(rng) for _ in range(4000)] + [{w: w} for w in TRICKY_WORDS] + TRICKY_WORDS
        docs = self.emit(values)
        self.assertEqual(len(docs), len(values))
        for value, doc in zip(values, docs):
            with self.subTest(value=value):
                self.assertEqual(yaml.safe_load(doc), value, doc)

    def test_long_keys_use_the_explicit_form(self):
        value = {"k" * 1500: {"x": ["a", "b"]}, "short": 1}
        self.assertEqual(yaml.safe_load(self.emit([value])[0]), value)


if __name__ == "__main__":
    unittest.main()
