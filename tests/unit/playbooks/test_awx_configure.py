# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/awx_configure.yml runs for real against every awx.awx module's own argument spec.

No AWX runs here (docs/awx.md). The test copies the awx.awx collection of the pinned `ansible`
package and adds, for each module, an action plugin of the same name: it takes the arguments the
playbook templated, validates them with the module's real argument spec (captured from the
module's main()), records them, and stops there, where the module would call AWX's API. So
everything but the API runs: vars_files with AWX's !unsafe injector templates, the argument spec
lookups, our survey and workflow filters, loops, no_log.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

import ansible_collections
from ansible_collections.skillvl.offline_first.plugins.plugin_utils.awx_survey import validate_survey_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(ROOT, "playbooks", "awx_configure.yml")
MODEL = os.path.join(ROOT, "playbooks", "vars", "awx.yml")

# Validates, records and stops where the module would call AWX.
RECORDER = '''
from __future__ import absolute_import, division, print_function
__metaclass__ = type
import importlib, json, os
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase


class _Spec(Exception):
    pass


def _spec_of(name):
    module = importlib.import_module('ansible_collections.awx.awx.plugins.modules.' + name)

    class Capture(object):
        def __init__(self, argument_spec=None, **kwargs):
            raise _Spec(argument_spec, kwargs)

    real = module.ControllerAPIModule
    module.ControllerAPIModule = Capture
    try:
        module.main()
    except _Spec as spec:
        argument_spec, kwargs = spec.args
        return argument_spec, dict((k, v) for k, v in kwargs.items()
                                   if k in ('mutually_exclusive', 'required_together', 'required_one_of',
                                            'required_if', 'required_by'))
    finally:
        module.ControllerAPIModule = real
    raise AssertionError('awx.awx.%s did not build its module' % name)


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        name = self._task.action.rsplit('.', 1)[-1]
        argument_spec, rules = _spec_of(name)
        checked = ArgumentSpecValidator(argument_spec, **rules).validate(dict(self._task.args))
        with open(os.environ['AWX_STUB_LOG'], 'a') as log:
            log.write(json.dumps({'module': name, 'args': self._task.args,
                                  'errors': checked.error_messages}, default=str) + '\\n')
        if checked.error_messages:
            result.update(failed=True, msg='awx.awx.%s: %s' % (name, '; '.join(checked.error_messages)))
        else:
            result.update(changed=True)
        return result
'''


def awx_collection():
    for top in ansible_collections.__path__:
        path = os.path.join(top, "awx", "awx")
        if os.path.isdir(os.path.join(path, "plugins", "modules")):
            return path
    pytest.fail("awx.awx is not in the pinned ansible package (requirements-dev.txt)")


@pytest.fixture(scope="module")
def stub_path(tmp_path_factory):
    top = tmp_path_factory.mktemp("awx")
    dest = top / "ansible_collections" / "awx" / "awx"
    shutil.copytree(awx_collection(), str(dest), ignore=shutil.ignore_patterns("__pycache__", "tests"))
    action = dest / "plugins" / "action"
    action.mkdir(exist_ok=True)
    for module in glob.glob(str(dest / "plugins" / "modules" / "*.py")):
        name = os.path.basename(module)
        if name != "__init__.py":
            (action / name).write_text(RECORDER)
    return str(top)


def configure(stub_path, tmp_path, *extra):
    log = tmp_path / "calls.jsonl"
    env = dict(os.environ, AWX_STUB_LOG=str(log), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([stub_path, os.path.join(ROOT, ".build", "collections")]),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable, PLAYBOOK] + list(extra)
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


CREDENTIALS = {"awx_credentials": [
    {"name": "CHAP", "credential_type": "SKILL/VL iSCSI CHAP", "inputs": {"username": "vms", "password": "s3cret-chap"}},
    {"name": "CA", "credential_type": "SKILL/VL libvirt TLS CA",
     "inputs": {"ca_cert": "-----BEGIN CERTIFICATE-----", "ca_key": "-----BEGIN PRIVATE KEY----- k3y"}}],
    "awx_machine_credential": "SKILL/VL SSH"}


@pytest.fixture(scope="module")
def configured(stub_path, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("run")
    (tmp_path / "creds.json").write_text(json.dumps(CREDENTIALS))
    proc, calls = configure(stub_path, tmp_path, "-e", "awx_project_url=https://git.example.org/skillvl.git",
                            "-e", "awx_ee_image=registry.example.org/skillvl-ee:0.1.0",
                            "-e", "@%s" % (tmp_path / "creds.json"))
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc, calls


def by_module(calls, module):
    return [c["args"] for c in calls if c["module"] == module]


def test_every_call_fits_its_module(configured):
    _proc, calls = configured
    assert [c for c in calls if c["errors"]] == []
    model = yaml.safe_load(open(MODEL).read().replace("!unsafe ", ""))
    counts = dict((m, len(by_module(calls, m))) for m in set(c["module"] for c in calls))
    assert counts == {"organization": 1, "execution_environment": 1, "project": 1, "inventory": 1,
                      "inventory_source": 1, "credential_type": len(model["awx_credential_types"]),
                      "credential": 2, "job_template": len(model["awx_job_templates"]),
                      "workflow_job_template": len(model["awx_workflows"])}


def test_injectors_reach_awx_untemplated(configured):
    _proc, calls = configured
    chap = [t for t in by_module(calls, "credential_type") if t["name"] == "SKILL/VL iSCSI CHAP"][0]
    assert chap["injectors"]["extra_vars"]["vault_skillvl_storage_iscsi_chap_password"] == "{{ password }}"
    ca = [t for t in by_module(calls, "credential_type") if t["name"] == "SKILL/VL libvirt TLS CA"][0]
    assert ca["injectors"]["extra_vars"]["kvm_host_tls_ca_key"] == "{{ tower.filename.ca_key }}"


def test_injected_variables_are_the_ones_the_collection_reads(configured):
    """An injector that sets a variable nothing reads would leave the secret unused."""
    _proc, calls = configured
    read = open(os.path.join(ROOT, "inventories", "skillvl", "group_vars", "all", "storage.yml")).read()
    read += open(os.path.join(ROOT, "roles", "kvm_host", "defaults", "main.yml")).read()
    for kind in by_module(calls, "credential_type"):
        for var in kind["injectors"]["extra_vars"]:
            assert "\n%s:" % var in read or "{{ %s }}" % var in read, var


def test_secrets_stay_out_of_the_output(configured):
    proc, _calls = configured
    assert "s3cret-chap" not in proc.stdout and "k3y" not in proc.stdout


def test_job_templates(configured):
    _proc, calls = configured
    templates = dict((t["name"], t) for t in by_module(calls, "job_template"))
    for template in templates.values():
        assert os.path.isfile(os.path.join(ROOT, template["playbook"])), template["playbook"]
        assert template["allow_simultaneous"] is False          # a VM is moved by one job at a time
        assert template["execution_environment"] == "SKILL/VL offline-first"
        if template["survey_enabled"]:
            assert validate_survey_spec(template["survey_spec"]) == []
    migrate = templates["SKILL/VL: migrate a VM"]
    assert migrate["credentials"] == ["SKILL/VL SSH", "CA"]
    questions = dict((q["variable"], q) for q in migrate["survey_spec"]["spec"])
    assert questions["vm"]["required"] is True
    assert questions["mode"]["type"] == "multiplechoice" and questions["mode"]["default"] == "live"
    assert templates["SKILL/VL: site"]["credentials"] == ["SKILL/VL SSH", "CHAP", "CA"]
    assert templates["SKILL/VL: site"]["survey_enabled"] is False
    assert templates["SKILL/VL: site"]["ask_limit_on_launch"] is True
    experiment = dict((q["variable"], q) for q in templates["SKILL/VL: experiment"]["survey_spec"]["spec"])
    assert sorted(experiment["experiment_file"]["choices"]) == sorted(
        os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "experiments", "*.yml")))


def test_workflow_chains_existing_templates(configured):
    _proc, calls = configured
    names = set(t["name"] for t in by_module(calls, "job_template"))
    workflow = by_module(calls, "workflow_job_template")[0]
    assert [q["variable"] for q in workflow["survey_spec"]["spec"]] == ["vm", "user"]
    assert validate_survey_spec(workflow["survey_spec"]) == []
    nodes = workflow["workflow_nodes"]
    kinds = [n["unified_job_template"]["type"] for n in nodes]
    assert kinds == ["job_template", "workflow_approval", "job_template"]
    assert set(n["unified_job_template"]["name"] for n in nodes if n["unified_job_template"]["type"] == "job_template") <= names


def test_no_change_without_the_project_and_image(stub_path, tmp_path):
    proc, calls = configure(stub_path, tmp_path)
    assert proc.returncode != 0 and "give -e awx_project_url=GIT_URL" in proc.stdout
    assert calls == []


def test_a_wrong_argument_is_caught(stub_path, tmp_path):
    """The check can fail: a value the module refuses stops the run."""
    proc, calls = configure(stub_path, tmp_path, "-e", "awx_project_url=x", "-e", "awx_ee_image=y",
                            "-e", '{"awx_credential_types": [{"name": "t", "description": "d", '
                                  '"inputs": "not a mapping", "injectors": {}}]}')
    assert proc.returncode != 0
    assert calls[-1]["module"] == "credential_type" and "inputs" in " ".join(calls[-1]["errors"])
