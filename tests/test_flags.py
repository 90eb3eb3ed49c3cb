"""pflag-style parsing and kubectl's dispatcher errors."""
import pytest

from kubelab.cluster import Cluster
from kubelab.kubectl import flags as fl
from kubelab.kubectl.flags import Flag, FlagError, parse

SPECS = [
    Flag("namespace", "n", fl.STRING),
    Flag("stdin", "i", fl.BOOL),
    Flag("tty", "t", fl.BOOL),
    Flag("replicas", "r", fl.INT, default=1),
    Flag("filename", "f", fl.STRING_SLICE),
    Flag("from-literal", type=fl.STRING_ARRAY),
    Flag("dry-run", type=fl.STRING, default="none", no_opt="unchanged"),
    Flag("timeout", type=fl.DURATION),
]


def test_values_in_every_spelling():
    flags, args = parse(["a", "--namespace=x", "b"], SPECS)
    assert (flags.namespace, args) == ("x", ["a", "b"])
    assert parse(["--namespace", "x"], SPECS)[0].namespace == "x"
    assert parse(["-n", "x"], SPECS)[0].namespace == "x"
    assert parse(["-nx"], SPECS)[0].namespace == "x"
    assert parse(["-n=x"], SPECS)[0].namespace == "x"


def test_bool_shorthand_combos_and_attached_value():
    flags, args = parse(["-it", "busybox", "-nfoo"], SPECS)
    assert (flags.stdin, flags.tty, flags.namespace, args) == (True, True, "foo", ["busybox"])
    flags, _ = parse(["-itnfoo"], SPECS)
    assert (flags.stdin, flags.tty, flags.namespace) == (True, True, "foo")
    assert parse(["--stdin=false"], SPECS)[0].stdin is False


def test_bool_does_not_eat_next_word():
    flags, args = parse(["--stdin", "pod"], SPECS)
    assert flags.stdin is True and args == ["pod"]


def test_dash_separator():
    flags, args = parse(["pod", "-i", "--", "sh", "-c", "ls -l"], SPECS)
    assert args == ["pod", "sh", "-c", "ls -l"] and flags.dash_index == 1 and flags.stdin


def test_defaults_and_changed():
    flags, _ = parse([], SPECS)
    assert flags.replicas == 1 and not flags.changed("replicas")
    flags, _ = parse(["--replicas", "3"], SPECS)
    assert flags.replicas == 3 and flags.changed("replicas")


def test_slices_and_arrays():
    flags, _ = parse(["-f", "a.yaml,b.yaml", "-f", "c.yaml", "--from-literal=a=1,2", "--from-literal", "b=2"],
                     SPECS)
    assert flags.filename == ["a.yaml", "b.yaml", "c.yaml"]
    assert flags.from_literal == ["a=1,2", "b=2"]


def test_no_opt_default():
    assert parse(["--dry-run"], SPECS)[0].dry_run == "unchanged"
    assert parse(["--dry-run=client"], SPECS)[0].dry_run == "client"
    assert parse(["--dry-run", "x"], SPECS)[1] == ["x"]


def test_durations():
    assert parse(["--timeout=1m30s"], SPECS)[0].timeout == 90.0
    assert fl.parse_duration("0") == 0.0 and fl.parse_duration("1.5h") == 5400.0
    assert fl.parse_duration("5") is None


@pytest.mark.parametrize("argv, message", [
    (["--foo"], "unknown flag: --foo"),
    (["-z"], "unknown shorthand flag: 'z' in -z"),
    (["-iz"], "unknown shorthand flag: 'z' in -iz"),
    (["-n"], "flag needs an argument: 'n' in -n"),
    (["--namespace"], "flag needs an argument: --namespace"),
    (["--replicas=abc"], 'invalid argument "abc" for "-r, --replicas" flag: '
                         'strconv.ParseInt: parsing "abc": invalid syntax'),
    (["--stdin=yes"], 'invalid argument "yes" for "-i, --stdin" flag: '
                      'strconv.ParseBool: parsing "yes": invalid syntax'),
    (["--timeout=5"], 'invalid argument "5" for "--timeout" flag: time: invalid duration "5"'),
])
def test_pflag_errors(argv, message):
    with pytest.raises(FlagError) as e:
        parse(argv, SPECS)
    assert str(e.value) == message


@pytest.fixture(scope="module")
def cluster():
    return Cluster(clock="virtual", seed=1)


def test_unknown_command_with_suggestion(cluster):
    r = cluster.kubectl("gte pods")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == 'error: unknown command "gte" for "kubectl"\n\nDid you mean this?\n\tget\n'


def test_unknown_command_suggestions_in_kubectl_order(cluster):
    r = cluster.kubectl("ap")
    assert r.stderr == ('error: unknown command "ap" for "kubectl"\n\nDid you mean this?\n'
                        "\ttop\n\tcp\n\tapply\n\tapi-versions\n\tapi-resources\n")


def test_unknown_command_without_suggestion(cluster):
    r = cluster.kubectl("xyzzy")
    assert (r.returncode, r.stderr) == (1, 'error: unknown command "xyzzy" for "kubectl"\n')


def test_global_flag_missing_value(cluster):
    r = cluster.kubectl("-n")
    assert (r.returncode, r.stderr) == (1, "error: flag needs an argument: 'n' in -n\nSee 'kubectl --help' for usage.\n")
