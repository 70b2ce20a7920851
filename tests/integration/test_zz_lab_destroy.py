"""Runs last: lab_destroy.yml leaves no container, namespace, veth or daemon of the lab, and
succeeds again with nothing left to remove."""
import os
import subprocess


def _lines(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False,
                          env=dict(os.environ, CONTAINERS_CONF=os.path.join(
                              os.path.dirname(__file__), "..", "..", "lab", "containers.conf"))).stdout.split()


def test_lab_destroy_leaves_nothing_behind(lab):
    # Every process of the lab (systemd, libvirtd, QEMU, OVS...) lives in one of its namespaces.
    pids = set()
    for host in lab.hosts:
        pids.update(_lines("ip", "netns", "pids", "%s-%s" % (lab.name, host)))
    assert pids, "the lab should be running before it is destroyed"
    lab.playbook("playbooks/lab_destroy.yml")
    assert not _lines("podman", "ps", "-a", "--filter", "label=skillvl.lab=%s" % lab.name, "--format", "{{.Names}}")
    prefix = lab.name + "-"
    namespaces = [ns for ns in _lines("ip", "netns", "list") if ns.startswith(prefix)]
    ours = [ns for ns in namespaces if ns[len(prefix):] in lab.hosts + ("underlay",)]
    assert not ours, ours
    assert not os.path.exists("/run/skillvl-lab/%s.netns" % lab.name)
    # No QEMU, libvirtd, OVS, tgt or ganesha of the lab survives its containers.
    alive = [pid for pid in pids if os.path.exists("/proc/%s" % pid)]
    assert not alive, "processes of the lab still alive: %s" % alive
    # Nothing to remove: still a success.
    lab.playbook("playbooks/lab_destroy.yml")
