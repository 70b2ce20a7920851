"""Fixtures for integration tests against the local lab (real libvirtd/QEMU, OVS, tgt, ganesha).

The `lab` fixture builds a lab of its own (lab name from SKILLVL_LAB_NAME, default
`skillvl-it`) with playbooks/lab.yml and removes it with playbooks/lab_destroy.yml at the
end of the session, unless SKILLVL_KEEP_LAB=1. Several labs with different names can run
side by side: every container, namespace and bridge carries the lab name.
"""
import json
import os
import shlex
import subprocess
import time

import pytest

from ansible_collections.skillvl.offline_first.plugins.connection.podman_nsenter import (
    CONTAINER_ENV, container_pid)
from labguests import HYPERVISORS, SRC, Guests

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(TOP, ".venv", "bin")


def wait_for(predicate, timeout=60, interval=1.0, what="condition"):
    """Poll predicate() until it returns a true value; bounded in time."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


class Lab:
    """Handle on one running lab: commands in its hosts, playbooks and modules against it."""

    hosts = ("cloud1", "ws01", "ws02", "storage1")

    def __init__(self, name):
        self.name = name
        self.env = dict(os.environ)
        self.env.update({
            "ANSIBLE_CONFIG": os.path.join(TOP, "ansible.cfg"),
            "CONTAINERS_CONF": os.path.join(TOP, "lab", "containers.conf"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
        })

    def container(self, host):
        return "%s-%s" % (self.name, host)

    def netns(self, host):
        """The network namespace of a host (the underlay's is `<lab>-underlay`)."""
        return "%s-%s" % (self.name, host)

    def hostvars(self, host):
        """The inventory variables of a lab host as the inventory states them (not templated)."""
        cache = self.__dict__.setdefault("_hostvars", {})
        if host not in cache:
            argv = [os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(TOP, "inventories", "lab"),
                    "--host", host]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=self.env, cwd=TOP,
                                  check=True)
            cache[host] = json.loads(proc.stdout)
        return cache[host]

    @property
    def wan_rtt_slack_ms(self):
        """The least round-trip tolerance the inventory gives the WAN role's own check (ms)."""
        return self.hostvars("cloud1")["wan_emulation_rtt_slack_ms"]

    @property
    def migration_transport(self):
        """The inventory's libvirt/migration transport (tls, as in production)."""
        return self.hostvars("cloud1")["skillvl_migration_transport"]

    def libvirt_uri(self, host):
        """The URI of host's libvirtd over the inventory's transport."""
        return "qemu+%s://%s/system" % (self.migration_transport, host)

    def virsh_migrate_tls(self, dest):
        """`virsh migrate` options for the inventory's transport: with tls the QEMU stream is
        encrypted (kvm_host's migrate_tls_force refuses it otherwise) and the destination's
        certificate is checked against its host name, whatever address --migrateuri names."""
        if self.migration_transport != "tls":
            return ""
        return "--tls --tls-destination %s" % shlex.quote(dest)

    def run(self, host, cmd, check=True, timeout=120, input=None):
        """Run a shell command inside a lab host; returns CompletedProcess (text).

        It enters the container's namespaces with nsenter, with the environment podman exec would
        give, as the lab's connection (podman_nsenter) does: a podman exec costs a quarter to half a
        second of the 2 busy cores, and the tests make thousands of these calls."""
        pid, why = container_pid(self.container(host), env=self.env)
        if pid is None:
            proc = subprocess.CompletedProcess(cmd, 125, "", "container %s is not running: %s"
                                               % (self.container(host), why))
        else:
            proc = subprocess.run(["nsenter", "--target", pid, "--all", "--", "/bin/sh", "-c", cmd],
                                  capture_output=True, text=True, timeout=timeout, env=CONTAINER_ENV, input=input,
                                  stdin=subprocess.DEVNULL if input is None else None, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("%s: %s failed (rc=%s)\nstdout: %s\nstderr: %s"
                                 % (host, cmd, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def virsh(self, host, *args, check=True, timeout=120):
        return self.run(host, "virsh -c qemu:///system " + " ".join(shlex.quote(a) for a in args),
                        check=check, timeout=timeout)

    def ssh_file(self, name):
        """A file of the lab's SSH material on the controller (id_ed25519, known_hosts)."""
        return os.path.join(TOP, ".lab", self.name, "ssh", name)

    def playbook(self, path, extra_vars=None, check=True, timeout=1800, args=(), ssh=False, env=None):
        """Run a playbook (path relative to the checkout) against the lab inventory; ssh=True: over
        SSH from the controller's namespace on the underlay, as AWX reaches hosts (the lab's key,
        host keys checked)."""
        ev = {"lab_name": self.name}
        if ssh:
            ev["lab_connection"] = "ssh"
            args = ["--private-key", self.ssh_file("id_ed25519")] + list(args)
        ev.update(extra_vars or {})
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(TOP, "inventories", "lab"),
                "-e", json.dumps(ev)] + list(args) + [os.path.join(TOP, path)]
        if ssh:
            argv = ["ip", "netns", "exec", "%s-ctl" % self.name] + argv
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=dict(self.env, **(env or {})), cwd=TOP, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (rc=%s)\n%s\n%s"
                                 % (path, proc.returncode, proc.stdout[-20000:], proc.stderr[-5000:]))
        return proc

    def module(self, host, module, args, check_mode=False, timeout=1800, extra_vars=None):
        """Run one module on a lab host; returns its result dict (failed or not).

        No `-o`: in ansible-core 2.19 the oneline callback it selects replaces the json one.
        """
        ev = dict(extra_vars or {}, lab_name=self.name)
        argv = [os.path.join(BIN, "ansible"), "-i", os.path.join(TOP, "inventories", "lab"),
                host, "-e", json.dumps(ev), "-m", module,
                "-a", json.dumps(args)]
        if check_mode:
            argv.append("--check")
        env = dict(self.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json",
                   ANSIBLE_DEPRECATION_WARNINGS="0")
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=TOP, check=False)
        try:
            out = json.loads(proc.stdout)
            return out["plays"][0]["tasks"][0]["hosts"][host]
        except (ValueError, KeyError, IndexError):
            raise AssertionError("could not run %s on %s:\n%s\n%s" % (module, host, proc.stdout, proc.stderr))

    def guests(self, guests):
        """Create/start (or remove, with state=absent) guests through the vm role.

        `guests` is a list of vm_guests entries, e.g. {"name": "g1", "host": "cloud1",
        "image": "skillvl-lab-guest", "memory_mib": 256, "vcpus": 1, "interfaces": [],
        "cpu": {"mode": "custom", "model": "qemu64"},
        "kernel_args": "skillvl.mem_mib=64 skillvl.rate_mib=20",
        "disks": [{"name": "data", "size_mib": 16}]}.
        """
        return self.playbook("tests/integration/playbooks/guests.yml", {"vm_guests": guests})

    def console(self, host, vm):
        """The serial console log of a guest on a host ('' when there is none)."""
        return self.run(host, "cat /var/log/libvirt/qemu/%s-console.log 2>/dev/null || true" % vm).stdout

    @staticmethod
    def wait_for(predicate, timeout=60, interval=1.0, what="condition"):
        return wait_for(predicate, timeout, interval, what)


@pytest.fixture(scope="session")
def lab():
    name = os.environ.get("SKILLVL_LAB_NAME", "skillvl-it")
    handle = Lab(name)
    # A lab of this name left by an interrupted run (containers, namespaces) is removed first:
    # the run owns its lab name.
    handle.playbook("playbooks/lab_destroy.yml")
    try:
        handle.playbook("playbooks/lab.yml")
        handle.playbook("playbooks/site.yml")
        yield handle
    finally:
        if os.environ.get("SKILLVL_KEEP_LAB") != "1":
            handle.playbook("playbooks/lab_destroy.yml", check=False)


@pytest.fixture(scope="module")
def guests(lab):
    """Test guests of one module (labguests.Guests), all removed at its end."""
    g = Guests(lab)
    for host in HYPERVISORS:   # libvirtd must answer (socket activation restarts it on demand)
        lab.run(host, "systemctl start libvirtd.service >/dev/null 2>&1 || true", check=False)
    try:
        yield g
    finally:
        for name in g.names:
            g.remove(name)
        lab.run(SRC, "rm -f /usr/local/bin/qemu-lab-x86_64", check=False)
