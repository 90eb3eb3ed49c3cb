"""busybox sh's fd redirections and the terminal of ``kubectl exec -it`` / ``run -it``."""
from __future__ import annotations

import pytest

from kubelab import Cluster


@pytest.fixture(scope="module")
def c() -> Cluster:
    cluster = Cluster(clock="virtual", seed=5)
    cluster.kubectl("create deployment web --image=nginx")
    cluster.kubectl("run bb --image=busybox -- sleep 3600")
    cluster.settle()
    return cluster


def sh(c: Cluster, script: str, flags: str = "") -> tuple[str, str, int]:
    r = c.kubectl("exec", *flags.split(), "bb", "--", "sh", "-c", script)
    return r.stdout, r.stderr, r.returncode


def test_fd_redirections(c):
    assert sh(c, "echo out; echo err >&2") == ("out\n", "err\n", 0)
    assert sh(c, "echo err 1>&2") == ("", "err\n", 0)
    assert sh(c, "ls /nope 2>&1") == ("ls: /nope: No such file or directory\n",
                                      "command terminated with exit code 1\n", 1)
    # applied left to right, as dup2 does
    assert sh(c, "ls /nope 2>&1 >/tmp/a; cat /tmp/a") == ("ls: /nope: No such file or directory\n", "", 0)
    assert sh(c, "ls /nope >/tmp/b 2>&1; cat /tmp/b") == ("ls: /nope: No such file or directory\n", "", 0)
    assert sh(c, "echo x 2>/tmp/e >&2; cat /tmp/e") == ("x\n", "", 0)
    assert sh(c, "echo a 1>/tmp/f; echo b 1>>/tmp/f; ls /nope 2>>/tmp/f; cat /tmp/f") == (
        "a\nb\nls: /nope: No such file or directory\n", "", 0)
    assert sh(c, "echo a1>&2") == ("", "a1\n", 0)  # a digit inside a word is not an fd


def test_a_terminal_carries_stderr_in_the_order_written(c):
    assert sh(c, "echo out; echo err >&2; echo again", "-it") == ("out\nerr\nagain\n", "", 0)
    ip = c.client.list("Pod", "default", label_selector="app=web")["items"][0]["status"]["podIP"]
    r = c.kubectl("exec", "-it", "bb", "--", "wget", ip, "-O", "-")
    assert r.stdout.startswith(f"Connecting to {ip} ({ip}:80)\nwriting to stdout\n<!DOCTYPE html>")
    assert r.stdout.endswith("</html>\n-                    100% |********************************|   615  0:00:00 ETA\n"
                             "written to stdout\n") and r.stderr == ""
    r = c.kubectl("run t --image=busybox --rm -it --restart=Never", stdin=f"wget -O- {ip}\nexit\n")
    assert r.stdout.startswith(f"Connecting to {ip} ({ip}:80)\nwriting to stdout\n<!DOCTYPE html>")
    assert r.stderr == "If you don't see a command prompt, try pressing enter.\n"
    # without a terminal the streams stay apart
    r = c.kubectl("exec", "bb", "--", "wget", ip, "-O", "-")
    assert r.stdout.startswith("<!DOCTYPE html>") and r.stderr.startswith(f"Connecting to {ip}")


def test_what_the_docs_scripts_use(c):
    """The docs' counter and logging examples: $((...)), $(...) inside double quotes,
    $RANDOM, echo -en, [[ ]], break/continue, cp and rev, as busybox sh runs them."""
    assert sh(c, 'i=0; while true; do echo "$i: $(hostname)"; i=$((i+1)); [ $i -gt 2 ] && break; done') == (
        "0: bb\n1: bb\n2: bb\n", "", 0)
    assert sh(c, "echo $(( (7 + 3) % 4 * 2 - 10 / 3 ))") == ("1\n", "", 0)
    assert sh(c, 'echo "[$(echo a   b)]" [$(echo)]') == ("[a b] []\n", "", 0)
    out, _, code = sh(c, "echo $RANDOM")
    assert code == 0 and 0 <= int(out) < 32768
    assert sh(c, "echo -en 'a\\tb'; echo -n x") == ("a\tbx", "", 0)
    assert sh(c, "[[ -e /etc/hostname ]] && echo yes; [[ -e /nope ]] || echo no") == ("yes\nno\n", "", 0)
    assert sh(c, "for x in a b c; do [ $x = b ] && continue; echo $x; done") == ("a\nc\n", "", 0)
    assert sh(c, "echo abc > /tmp/r; cp /tmp/r /tmp/s; rev /tmp/s") == ("cba\n", "", 0)
    assert sh(c, "cp /nope /tmp") == ("", "cp: can't stat '/nope': No such file or directory\n"
                                          "command terminated with exit code 1\n", 1)
    assert sh(c, "echo $((1/0))")[1].startswith("sh: divide by zero\n")


def test_bash_arrays_in_the_indexed_job_example():
    """The docs' indexed Job picks a word with ${items[$JOB_COMPLETION_INDEX]} in bash."""
    cluster = Cluster(clock="virtual", seed=5)
    cluster.kubectl("run b --image=bash:5 -- sleep 3600")
    cluster.settle()
    r = cluster.kubectl("exec", "b", "--", "bash", "-c", "items=(foo bar baz); i=1; echo ${items[$i]} ${items[2]} $items")
    assert (r.stdout, r.returncode) == ("bar baz foo\n", 0)


def test_what_the_replicated_mysql_tutorial_uses():
    """Its bash scripts: set -ex, backticks, [[ s =~ ERE ]] with BASH_REMATCH, $(<file), a
    line continuation inside double quotes, exec; and ncat --listen, the xtrabackup image's
    server, runs until killed while ncat --recv-only just runs."""
    cluster = Cluster(clock="virtual", seed=5)
    cluster.kubectl("run mysql-2 --image=gcr.io/google-samples/xtrabackup:1.0 -- sleep 3600")
    cluster.settle()

    def bash(script: str) -> tuple[str, int]:
        r = cluster.kubectl("exec", "mysql-2", "--", "bash", "-c", script)
        return r.stdout + r.stderr, r.returncode

    assert bash("set -ex; [[ `hostname` =~ -([0-9]+)$ ]] || exit 1; echo id=$((100 + ${BASH_REMATCH[1]}))") == (
        "id=102\n", 0)
    assert bash('[[ "a  b" =~ ^(.*?)[[:space:]]+(.*?)$ ]] && echo "${BASH_REMATCH[1]}|${BASH_REMATCH[2]}"') == (
        "a|b\n", 0)
    assert bash('echo "x" > /tmp/f; echo "$(</tmp/f)-`echo y`" "a\\\n   b"') == ("x-y a   b\n", 0)
    assert bash("exec echo replaced; echo never") == ("replaced\n", 0)
    assert bash("ncat --recv-only mysql-1.mysql 3307; echo $?") == ("0\n", 0)
    cluster.kubectl("run server --image=gcr.io/google-samples/xtrabackup:1.0 -- bash -c "
                    "'exec ncat --listen --keep-open 3307'")
    cluster.advance(60)
    status = cluster.api.get("Pod", "server")["status"]["containerStatuses"][0]
    assert "running" in status["state"] and status["restartCount"] == 0
