# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The awx_survey filter: the plugin_utils converter behind a filter's keywords and errors."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.skillvl.offline_first.plugins.filter import awx_survey as plugin
from ansible_collections.skillvl.offline_first.plugins.filter.awx_survey import FilterModule, awx_survey

try:
    from ansible._internal._templating._utils import Omit as OMIT  # ansible-core 2.19+
except ImportError:
    OMIT = '__omit_place_holder__0123456789abcdef'

SPEC = {'argument_specs': {
    'main': {'short_description': 'Move a VM', 'description': ['Moves it.'],
             'options': {'vm': {'type': 'str', 'required': True, 'description': 'The VM.'},
                         'bandwidth': {'type': 'int', 'default': 0},
                         'layers': {'type': 'bool', 'default': True},
                         'settings': {'type': 'dict'}}},
    'stage': {'short_description': 'Stage', 'options': {'images': {'type': 'list', 'elements': 'str'}}},
}}


def test_registered():
    assert FilterModule().filters() == {'awx_survey': awx_survey}


def test_survey():
    survey = awx_survey(SPEC, exclude=['settings'])
    assert (survey['name'], survey['description']) == ('Move a VM', 'Moves it.')
    assert [(q['variable'], q['type'], q.get('default')) for q in survey['spec']] == [
        ('vm', 'text', None), ('bandwidth', 'integer', 0), ('layers', 'multiplechoice', 'true')]


def test_keywords():
    survey = awx_survey(SPEC, entry_point='stage', name='N', description='D')
    assert (survey['name'], survey['description']) == ('N', 'D')
    assert [q['variable'] for q in survey['spec']] == ['images']
    assert [q['variable'] for q in awx_survey(SPEC, only=['layers', 'vm'])['spec']] == ['vm', 'layers']


def test_omit_is_not_given():
    survey = awx_survey(SPEC, entry_point=OMIT, name=OMIT, description=OMIT, exclude=['settings'], only=OMIT)
    assert (survey['name'], survey['description'], len(survey['spec'])) == ('Move a VM', 'Moves it.', 3)
    assert plugin._omitted('__omit_place_holder__abc') and plugin._omitted(None) and not plugin._omitted('name')


@pytest.mark.parametrize('kwargs, message', [
    ({}, 'awx_survey: option settings has type dict'),
    ({'exclude': ['settings', 'nope']}, 'awx_survey: not options of entry point main: nope'),
    ({'entry_point': 'other'}, 'awx_survey: the argument spec has no entry point other'),
    ({'exclude': 'settings'}, 'awx_survey: exclude must be a list'),
    ({'only': 'vm'}, 'awx_survey: only must be a list'),
])
def test_errors_are_filter_errors(kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        awx_survey(SPEC, **kwargs)


def test_not_a_spec():
    with pytest.raises(AnsibleFilterError, match='expected an argument spec'):
        awx_survey(['a', 'list'])


def test_documentation_parses():
    doc = yaml.safe_load(plugin.DOCUMENTATION)
    assert doc['name'] == 'awx_survey'
    assert set(doc['options']) == {'_input', 'entry_point', 'name', 'description', 'exclude', 'only'}
    assert yaml.safe_load(plugin.EXAMPLES) and yaml.safe_load(plugin.RETURN)['_value']['type'] == 'dict'
