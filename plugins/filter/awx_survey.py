# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: awx_survey
short_description: The AWX job template survey for one entry point of an argument spec
version_added: 0.1.0
description:
  - Takes an argument spec (a role's C(meta/argument_specs.yml) or a playbook's
    C(playbooks/argument_specs/*.yml), as loaded from YAML) and gives the survey AWX stores on a
    job template (its C(survey_spec)), one question per option, in the options' order.
  - C(str) and C(path) options become C(text) questions (0 to 1024 characters), C(no_log) ones
    C(password) questions, options with C(choices) C(multiplechoice) questions, C(int) and C(float)
    options C(integer) and C(float) questions, C(bool) options C(multiplechoice) questions with the
    choices C(true) and C(false) (read them with C(| bool)), C(list) options C(multiselect) questions
    when they have C(choices), else C(text) questions taking a comma-separated list.
  - An option of type C(dict), C(raw) or a list of dicts is an error, never left out silently;
    name it in O(exclude).
  - Each default becomes the question's default as AWX wants it for that type. A secret
    (C(no_log)) with a default other than the empty string is an error. A default that is computed
    (a Jinja expression, or a text where the option wants another type) gives no default; the
    question's description says what applies when the question is left blank.
  - The result passes AWX's own check of a survey (C(JobTemplateSurveySpec._validate_spec_data)),
    and every default passes AWX's check of an answer, or the filter fails.
  - AWX's launch form leaves out a question left blank (no variable at all) and the server then
    adds the question's default, if any; a playbook must take an absent variable as not given.
author:
  - SKILL/VL offline-first team (@skillvl)
options:
  _input:
    description: >-
      The argument spec: a whole file (with C(argument_specs)) or one entry point (with
      C(short_description), C(description) and C(options)).
    type: dict
    required: true
  entry_point:
    description: The entry point of a whole file to make the survey of.
    type: str
    default: main
  name:
    description: The survey's name; default the entry point's C(short_description).
    type: str
  description:
    description: The survey's description; default the entry point's C(description), its lines joined.
    type: str
  exclude:
    description: Options to ask no question for. Each must be an option of the entry point.
    type: list
    elements: str
    default: []
  only:
    description: When not empty, the only options to ask questions for. Each must be an option of the entry point.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Make the survey of playbooks/migrate.yml
  ansible.builtin.set_fact:
    migrate_survey: >-
      {{ lookup('ansible.builtin.file', 'argument_specs/migrate.yml') | ansible.builtin.from_yaml
         | skillvl.offline_first.awx_survey(name='Live-migrate a VM') }}

- name: Ask only for a role's scalar options
  ansible.builtin.set_fact:
    nfs_survey: >-
      {{ lookup('ansible.builtin.file', 'roles/nfs_client/meta/argument_specs.yml') | ansible.builtin.from_yaml
         | skillvl.offline_first.awx_survey(exclude=['nfs_client_packages']) }}
'''

RETURN = r'''
_value:
  description: The survey, as C(POST /api/v2/job_templates/N/survey_spec/) takes it.
  type: dict
  contains:
    name:
      description: The survey's name.
      type: str
    description:
      description: The survey's description.
      type: str
    spec:
      description: The questions, in the options' order.
      type: list
      elements: dict
      contains:
        question_name:
          description: The option's first description sentence (at most 80 characters), or its name.
          type: str
        question_description:
          description: The option's whole description.
          type: str
        required:
          description: The option's C(required).
          type: bool
        variable:
          description: The option's name, the extra variable the answer goes to.
          type: str
        type:
          description: C(text), C(password), C(integer), C(float), C(multiplechoice) or C(multiselect).
          type: str
        min:
          description: The shortest answer of a C(text) or C(password) question (0).
          type: int
        max:
          description: The longest answer of a C(text) or C(password) question (1024).
          type: int
        choices:
          description: The choices of a C(multiplechoice) or C(multiselect) question.
          type: list
          elements: str
        default:
          description: >-
            The default answer, when the option has one: a string (a C(multiselect) question's
            defaults one a line, a C(text) list's comma-separated), an int for C(integer), a float for C(float).
          type: raw
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

from ansible_collections.skillvl.offline_first.plugins.plugin_utils.awx_survey import (
    SurveyError,
    survey_from_argument_spec,
)


def _omitted(value):
    """None, or the value of `omit` (the Omit object of ansible-core 2.19, the placeholder string before)."""
    return (value is None or type(value).__name__ == '_OmitType'
            or (isinstance(value, string_types) and value.startswith('__omit_place_holder__')))


def _names(value, keyword):
    if _omitted(value):
        return []
    if isinstance(value, string_types) or not isinstance(value, (list, tuple)):
        raise AnsibleFilterError('awx_survey: %s must be a list of option names' % keyword)
    return list(value)


def awx_survey(spec, entry_point='main', name=None, description=None, exclude=None, only=None):
    try:
        return survey_from_argument_spec(spec, entry_point='main' if _omitted(entry_point) else entry_point,
                                         name=None if _omitted(name) else name,
                                         description=None if _omitted(description) else description,
                                         exclude=_names(exclude, 'exclude'), only=_names(only, 'only'))
    except SurveyError as e:
        raise AnsibleFilterError('awx_survey: %s' % e, orig_exc=e)


class FilterModule(object):
    def filters(self):
        return {'awx_survey': awx_survey}
