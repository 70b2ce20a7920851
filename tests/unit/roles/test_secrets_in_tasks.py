"""Every task that handles a private key or a secret hides it: `no_log`, and `diff: false` where
the module can print file contents (`--diff`); SSH host keys are checked."""
import configparser
import glob
import os

import pytest
import yaml

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TASK_FILES = sorted(glob.glob(os.path.join(TOP, "roles", "*", "tasks", "*.yml"))
                    + glob.glob(os.path.join(TOP, "playbooks", "*.yml"))
                    + glob.glob(os.path.join(TOP, "playbooks", "tasks", "*.yml")))
# A task that names a secret value, or moves a private key's content, handles a secret (a key's
# path given to a crypto module that only reads it is not one).
SECRET_WORDS = ("password", "passphrase", "secret_value", "secret-set-value", "digest")
KEY_WORDS = ("key.pem", "/private/")
CONTENT_MODULES = ("copy", "template", "slurp", "fetch", "command", "shell", "lineinfile", "blockinfile")
TASK_KEYS = ("name", "when", "loop", "loop_control", "register", "notify", "tags", "vars", "delegate_to",
             "run_once", "become", "changed_when", "failed_when", "no_log", "diff", "until", "retries", "delay",
             "listen", "ignore_errors", "check_mode", "environment", "args")
DIFF_MODULES = ("copy", "template", "lineinfile", "blockinfile", "replace", "ini_file")


def tasks_in(data):
    for item in data or []:
        if not isinstance(item, dict):
            continue
        if "tasks" in item or "pre_tasks" in item or "post_tasks" in item or "handlers" in item:
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from tasks_in(item.get(key))
            continue
        if any(k in item for k in ("block", "rescue", "always")):
            for key in ("block", "rescue", "always"):
                yield from tasks_in(item.get(key))
            continue
        yield item


def module_of(task):
    for key in task:
        if key not in TASK_KEYS and not key.startswith("with_"):
            return key
    return None


def secret_tasks():
    for path in TASK_FILES:
        with open(path) as handle:
            data = yaml.safe_load(handle)
        for task in tasks_in(data):
            module = module_of(task)
            if module is None or module.endswith(("assert", "fail", "debug", "include_tasks",
                                                  "import_tasks", "set_fact", "stat")):
                continue
            text = yaml.safe_dump({module: task[module], "loop": task.get("loop"), "vars": task.get("vars")})
            text = text.lower()
            moves_key = (any(word in text for word in KEY_WORDS)
                         and module.rsplit(".", 1)[-1] in CONTENT_MODULES)
            if moves_key or any(word in text for word in SECRET_WORDS):
                yield os.path.relpath(path, TOP), task.get("name", module), module, task


SECRET_TASKS = list(secret_tasks())


def test_some_secret_tasks_are_found():
    assert len(SECRET_TASKS) >= 5


@pytest.mark.parametrize("path,name,module,task", SECRET_TASKS, ids=[t[1] for t in SECRET_TASKS])
def test_secret_task_hides_the_secret(path, name, module, task):
    assert task.get("no_log") not in (None, False), "%s: %r handles a secret without no_log" % (path, name)
    if module.rsplit(".", 1)[-1] in DIFF_MODULES:
        assert task.get("diff") is False, "%s: %r would print the secret with --diff" % (path, name)


def test_ssh_host_keys_are_checked():
    """Never off in ansible.cfg or an inventory, and on by an inventory variable in both
    inventories: ansible-runner (so AWX) sets ANSIBLE_HOST_KEY_CHECKING=False in every job's
    environment, which only a variable overrides."""
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(TOP, "ansible.cfg"))
    assert cfg.get("defaults", "host_key_checking", fallback="True").lower() not in ("false", "no", "0")
    for path in glob.glob(os.path.join(TOP, "inventories", "**", "*.yml"), recursive=True):
        with open(path) as handle:
            data = yaml.safe_load(handle) or {}
        for key, value in (data.items() if isinstance(data, dict) else []):
            if "host_key_checking" in key:
                assert value is True, "%s: %s: %r" % (path, key, value)
            if key.endswith("ssh_common_args") or key.endswith("ssh_extra_args"):
                assert "StrictHostKeyChecking=no" not in value and "/dev/null" not in value, path
    for inventory in ("skillvl", "lab"):
        settings = {}
        for path in sorted(glob.glob(os.path.join(TOP, "inventories", inventory, "group_vars", "all", "*.yml"))):
            with open(path) as handle:
                settings.update(yaml.safe_load(handle) or {})
        assert settings.get("ansible_ssh_host_key_checking") is True, inventory
