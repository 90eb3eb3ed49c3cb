"""busybox sh and its applets as a learner meets them: `$((...))`, substitutions in quotes, mkdir -p, rm -r, and the echo server a load loop reaches."""
from __future__ import annotations

import pytest

from kubelab import Cluster
from kubelab.engine import arith


@pytest.fixture(scope="module")
def c() -> Cluster:
    cluster = Cluster(clock="virtual", seed=5)
    cluster.kubectl("run bb --image=busybox -- sleep 3600")
    cluster.settle()
    return cluster


def sh(c: Cluster, script: str) -> tuple[str, str, int]:
    r = c.kubectl("exec", "bb", "--", "sh", "-c", script)
    return r.stdout, r.stderr, r.returncode


def test_counting_loop(c):
    assert sh(c, "i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo n=$i; done") == ("n=1\nn=2\nn=3\n", "", 0)
    assert sh(c, 'n=7; echo "$((n % 2)) $(( n * (n - 1) / 2 )) $((n<<2))"') == ("1 21 28\n", "", 0)
    assert sh(c, "echo $((x += 5)) $x; echo $((y++)) $y") == ("5 5\n0 1\n", "", 0)


def test_errors_end_the_script_with_ash_words(c):
    assert sh(c, "echo $((1/0)); echo never") == ("", "sh: divide by zero\ncommand terminated with exit code 2\n", 2)
    assert sh(c, "echo $((1 +)); echo never") == (
        "", "sh: arithmetic syntax error\ncommand terminated with exit code 2\n", 2)


def test_command_substitution_in_quotes_is_one_word(c):
    assert sh(c, 'for w in "$(echo a b)"; do echo "[$w]"; done') == ("[a b]\n", "", 0)
    assert sh(c, 'for w in $(echo a b); do echo "[$w]"; done') == ("[a]\n[b]\n", "", 0)
    assert sh(c, "x=\"$(printf 'a   b')\"; echo \"$x\"") == ("a   b\n", "", 0)
    assert sh(c, 'echo "host: $(hostname)!"') == ("host: bb!\n", "", 0)


@pytest.mark.parametrize("expr, value", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("-7 / 2", -3), ("-7 % 3", -1), ("2 ** 10", 1024),
    ("1 < 2 && 3 > 4", 0), ("0 || 5", 1), ("0x10 + 010", 24), ("5 > 3 ? 10 : 20", 10),
    ("~0", -1), ("!3", 0), ("9223372036854775807 + 1", -9223372036854775808), ("", 0),
])
def test_values_as_c_computes_them(expr, value):
    assert arith.evaluate(expr, {}) == value


def test_the_branch_not_taken_assigns_nothing():
    env: dict[str, str] = {}
    assert arith.evaluate("0 && (a = 1)", env) == 0 and "a" not in env
    assert arith.evaluate("1 ? (b = 2) : (c = 3)", env) == 2 and env == {"b": "2"}


def test_the_echo_server_reports_the_query(c):
    """kennship/http-echo answers with Express's req.query (a repeated key is a list)."""
    import json

    c.kubectl("run echo --image=kennship/http-echo --port=3000")
    c.settle()
    ip = c.client.get("Pod", "echo")["status"]["podIP"]
    out, _, code = sh(c, f"wget -q -O- 'http://{ip}:3000/x?a=1&a=2&b='")
    reply = json.loads(out)
    assert code == 0 and reply["path"] == "/x" and reply["query"] == {"a": ["1", "2"], "b": ""}


def test_mkdir_p_and_rm_r(c):
    assert sh(c, "mkdir /tmp/a/b") == ("", "mkdir: can't create directory '/tmp/a/b': No such file or directory\n"
                                       "command terminated with exit code 1\n", 1)
    assert sh(c, "mkdir -p /tmp/a/b/c && mkdir -p /tmp/a/b && echo hi > /tmp/a/b/c/f && ls /tmp/a/b") == ("c\n", "", 0)
    assert sh(c, "mkdir /tmp/a") == ("", "mkdir: can't create directory '/tmp/a': File exists\n"
                                     "command terminated with exit code 1\n", 1)
    assert sh(c, "rm /tmp/a") == ("", "rm: can't remove '/tmp/a': Is a directory\ncommand terminated with exit code 1\n", 1)
    assert sh(c, "rm -f /tmp/nope; echo $?") == ("0\n", "", 0)
    assert sh(c, "rm -rf /tmp/a; ls /tmp/a") == ("", "ls: /tmp/a: No such file or directory\n"
                                                 "command terminated with exit code 1\n", 1)
