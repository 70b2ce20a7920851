# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX surveys from argument specs, checked against a transcription of AWX's own survey checks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import glob
import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skillvl.offline_first.plugins.plugin_utils.awx_survey import (
    SurveyError,
    answers_to_extra_vars,
    survey_element_validation,
    survey_from_argument_spec,
    validate_survey_spec,
)

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def one(option, name='opt'):
    """The single question made for one option."""
    survey = survey_from_argument_spec({'short_description': 'S', 'options': {name: option}})
    assert len(survey['spec']) == 1
    return survey['spec'][0]


# --- type mapping ----------------------------------------------------------------------------------

@pytest.mark.parametrize('option, expected', [
    ({'type': 'str', 'default': 'eth0'},
     {'type': 'text', 'min': 0, 'max': 1024, 'default': 'eth0'}),
    ({'description': 'no type given is str'},
     {'type': 'text', 'min': 0, 'max': 1024}),
    ({'type': 'path', 'default': '/srv/x'},
     {'type': 'text', 'min': 0, 'max': 1024, 'default': '/srv/x'}),
    ({'type': 'str', 'no_log': True},
     {'type': 'password', 'min': 0, 'max': 1024}),
    ({'type': 'str', 'choices': ['tls', 'tcp'], 'default': 'tcp'},
     {'type': 'multiplechoice', 'choices': ['tls', 'tcp'], 'default': 'tcp'}),
    ({'type': 'int', 'default': 16509},
     {'type': 'integer', 'default': 16509}),
    ({'type': 'int', 'default': '42'},
     {'type': 'integer', 'default': 42}),
    ({'type': 'float', 'default': 2},
     {'type': 'float', 'default': 2.0}),
    ({'type': 'float', 'default': 0.25},
     {'type': 'float', 'default': 0.25}),
    ({'type': 'bool', 'default': True},
     {'type': 'multiplechoice', 'choices': ['true', 'false'], 'default': 'true'}),
    ({'type': 'bool', 'default': False},
     {'type': 'multiplechoice', 'choices': ['true', 'false'], 'default': 'false'}),
    ({'type': 'bool'},
     {'type': 'multiplechoice', 'choices': ['true', 'false']}),
    ({'type': 'list', 'elements': 'str', 'choices': ['a', 'b', 'c'], 'default': ['c', 'a']},
     {'type': 'multiselect', 'choices': ['a', 'b', 'c'], 'default': 'c\na'}),
    ({'type': 'list', 'elements': 'str', 'default': ['hard', 'noatime']},
     {'type': 'text', 'min': 0, 'max': 1024, 'default': 'hard,noatime'}),
    ({'type': 'list', 'elements': 'int', 'default': [1, 2]},
     {'type': 'text', 'min': 0, 'max': 1024, 'default': '1,2'}),
    ({'type': 'int', 'choices': [1, 2, 4], 'default': 2},
     {'type': 'multiplechoice', 'choices': ['1', '2', '4'], 'default': '2'}),
])
def test_type_mapping(option, expected):
    question = one(option)
    got = dict((key, question[key]) for key in ('type', 'min', 'max', 'choices', 'default') if key in question)
    assert got == expected
    assert type(got.get('default')) is type(expected.get('default'))
    assert question['variable'] == 'opt' and question['required'] is False


def test_no_min_max_on_numbers_and_choices():
    for option in ({'type': 'int'}, {'type': 'float'}, {'type': 'bool'}, {'type': 'str', 'choices': ['a']}):
        assert 'min' not in one(option) and 'max' not in one(option)


def test_list_text_says_comma_separated():
    assert one({'type': 'list', 'elements': 'str', 'description': 'Peers.'})['question_description'] == \
        'Peers. Comma-separated list.'
    assert 'Comma' not in one({'type': 'list', 'choices': ['a'], 'description': 'Peers.'})['question_description']


def test_names_and_descriptions():
    question = one({'type': 'str', 'required': True, 'description': [
        'The V(pool) mode mounts O(nfs_client_export) at C(/mnt). More words follow.', 'Second line.']})
    assert question['question_name'] == 'The pool mode mounts nfs_client_export at /mnt'
    assert question['question_description'] == (
        'The pool mode mounts nfs_client_export at /mnt. More words follow. Second line.')
    assert question['required'] is True
    assert one({'type': 'str'}, name='bare')['question_name'] == 'bare'
    long_name = one({'type': 'str', 'description': 'x' * 200})['question_name']
    assert len(long_name) == 80 and long_name.endswith('...')


def test_survey_name_and_description():
    entry = {'short_description': 'Move a VM', 'description': ['Line one.', 'Line two.'],
             'options': {'vm': {'type': 'str', 'required': True}}}
    survey = survey_from_argument_spec({'argument_specs': {'main': entry}})
    assert (survey['name'], survey['description']) == ('Move a VM', 'Line one. Line two.')
    assert survey == survey_from_argument_spec(entry)
    survey = survey_from_argument_spec(entry, name='N', description='D')
    assert (survey['name'], survey['description']) == ('N', 'D')
    other = {'argument_specs': {'main': entry, 'stage': dict(entry, short_description='Stage')}}
    assert survey_from_argument_spec(other, entry_point='stage')['name'] == 'Stage'
    with pytest.raises(SurveyError, match='no entry point nope'):
        survey_from_argument_spec(other, entry_point='nope')


def test_order_exclude_only():
    entry = {'options': dict((name, {'type': 'str'}) for name in ('c', 'a', 'b'))}
    assert [q['variable'] for q in survey_from_argument_spec(entry)['spec']] == ['c', 'a', 'b']
    assert [q['variable'] for q in survey_from_argument_spec(entry, exclude=['a'])['spec']] == ['c', 'b']
    assert [q['variable'] for q in survey_from_argument_spec(entry, only=['b', 'c'])['spec']] == ['c', 'b']
    with pytest.raises(SurveyError, match='not options of entry point main: zz'):
        survey_from_argument_spec(entry, exclude=['zz'])
    with pytest.raises(SurveyError, match='not options of entry point main: yy'):
        survey_from_argument_spec(entry, only=['yy'])
    with pytest.raises(SurveyError, match='no question'):
        survey_from_argument_spec(entry, exclude=['a', 'b', 'c'])


# --- what is refused ------------------------------------------------------------------------------

@pytest.mark.parametrize('option', [
    {'type': 'dict'},
    {'type': 'raw'},
    {'type': 'json'},
    {'type': 'list', 'elements': 'dict', 'default': []},
    {'type': 'list', 'elements': 'raw'},
])
def test_unaskable_types_are_errors(option):
    entry = {'options': {'fine': {'type': 'str'}, 'bad_one': option}}
    with pytest.raises(SurveyError, match='option bad_one .*exclude it or give it a scalar type'):
        survey_from_argument_spec(entry)
    assert [q['variable'] for q in survey_from_argument_spec(entry, exclude=['bad_one'])['spec']] == ['fine']


def test_secret_with_default_is_an_error():
    with pytest.raises(SurveyError, match='option opt is a secret'):
        one({'type': 'str', 'no_log': True, 'default': 'hunter2'})
    # An empty secret means none: the question just has no default.
    assert 'default' not in one({'type': 'str', 'no_log': True, 'default': ''})
    with pytest.raises(SurveyError, match='secret'):
        one({'type': 'int', 'no_log': True})


@pytest.mark.parametrize('option, message', [
    ({'type': 'str', 'choices': ['a', 'b'], 'default': 'c'}, 'not one of its choices'),
    ({'type': 'list', 'choices': ['a', 'b'], 'default': ['a', 'z']}, 'not among its choices'),
    ({'type': 'list', 'elements': 'str', 'default': ['a,b']}, 'comma'),
    ({'type': 'bool', 'default': 3}, 'not a boolean'),
    ({'type': 'int', 'default': True}, 'boolean'),
    ({'type': 'int', 'default': [1]}, 'not an int'),
    ({'type': 'str', 'default': 'x' * 1025}, 'too large'),
])
def test_bad_defaults_are_errors(option, message):
    with pytest.raises(SurveyError, match=message):
        one(option)


@pytest.mark.parametrize('option', [
    {'type': 'str', 'default': '{{ skillvl_underlay_address }}'},
    {'type': 'int', 'default': 'skillvl_underlay_prefixlen or 24'},
    {'type': 'list', 'elements': 'str', 'default': "groups['cloud']"},
    {'type': 'bool', 'default': '{{ ansible_check_mode }}'},
    {'type': 'list', 'elements': 'str', 'default': ['{{ x }}']},
])
def test_computed_defaults_give_no_default_and_say_so(option):
    question = one(dict(option, description='Thing.'))
    assert 'default' not in question
    assert question['question_description'].endswith('Left blank: %s.' % (
        option['default'] if not isinstance(option['default'], list) else repr(option['default'])))


def test_empty_defaults_give_no_default():
    for option in ({'type': 'list', 'elements': 'str', 'default': []}, {'type': 'int', 'default': None},
                   {'type': 'int', 'default': ''}, {'type': 'list', 'default': ''}):
        question = one(dict(option, description='Thing.'))
        assert 'default' not in question and question['question_description'].startswith('Thing.')
        assert 'Left blank' not in question['question_description']
    assert one({'type': 'str', 'default': ''})['default'] == ''


def test_bool_round_trip():
    for default in (True, False, 'yes', 'off'):
        spec = {'options': {'flag': {'type': 'bool', 'default': default}}}
        extra_vars = answers_to_extra_vars(survey_from_argument_spec(spec), {})
        result = ArgumentSpecValidator(spec['options']).validate(extra_vars)
        assert result.error_messages == []
        assert result.validated_parameters['flag'] is (default in (True, 'yes'))
    spec = {'options': {'flag': {'type': 'bool', 'default': True}}}
    survey = survey_from_argument_spec(spec)
    extra_vars = answers_to_extra_vars(survey, {'flag': 'false'})
    assert ArgumentSpecValidator(spec['options']).validate(extra_vars).validated_parameters['flag'] is False
    with pytest.raises(SurveyError, match='expected to be one of'):
        answers_to_extra_vars(survey, {'flag': 'yes'})


# --- AWX's check of a survey being saved ---------------------------------------------------------------

def good_survey():
    return {'name': 'S', 'description': 'D', 'spec': [
        {'question_name': 'T', 'variable': 't', 'required': False, 'type': 'text', 'min': 0, 'max': 10, 'default': 'x'},
        {'question_name': 'I', 'variable': 'i', 'required': True, 'type': 'integer', 'default': 3},
        {'question_name': 'F', 'variable': 'f', 'required': False, 'type': 'float', 'default': 1},
        {'question_name': 'M', 'variable': 'm', 'required': False, 'type': 'multiplechoice',
         'choices': ['a', 'b'], 'default': 'a'},
        {'question_name': 'S', 'variable': 's', 'required': False, 'type': 'multiselect',
         'choices': ['a', 'b'], 'default': 'a\nb'},
        {'question_name': 'P', 'variable': 'p', 'required': False, 'type': 'password', 'min': 0, 'max': 1024},
        {'question_name': 'A', 'variable': 'a', 'required': False, 'type': 'textarea'},
    ]}


def test_good_survey_passes_and_is_not_modified():
    survey = good_survey()
    survey['spec'][3]['choices'] = 'a\n\nb\n'
    before = copy.deepcopy(survey)
    assert validate_survey_spec(survey) == []
    assert survey == before


def broken(change):
    survey = good_survey()
    change(survey)
    return survey


def _set(index, **values):
    def change(survey):
        survey['spec'][index].update(values)
    return change


def _drop(index, key):
    def change(survey):
        del survey['spec'][index][key]
    return change


@pytest.mark.parametrize('change, message', [
    (lambda s: s.pop('name'), "Field 'name' is missing from survey spec."),
    (lambda s: s.pop('description'), "Field 'description' is missing from survey spec."),
    (lambda s: s.pop('spec'), "Field 'spec' is missing from survey spec."),
    (lambda s: s.update(name=3), "Expected string for field 'name', received int type."),
    (lambda s: s.update(description=None), "Expected string for field 'description', received NoneType type."),
    (lambda s: s.update(spec={}), "Expected list of items for field 'spec', received dict type."),
    (lambda s: s.update(spec=[]), "'spec' doesn't contain any items."),
    (lambda s: s['spec'].append('q'), "Survey question 7 is not a json object."),
    (_drop(0, 'type'), "'type' missing from survey question 0"),
    (_drop(1, 'question_name'), "'question_name' missing from survey question 1"),
    (_drop(2, 'variable'), "'variable' missing from survey question 2"),
    (_drop(3, 'required'), "'required' missing from survey question 3"),
    (_set(0, question_name=None), "'question_name' in survey question 0 expected to be string."),
    (_set(0, variable=1), "'variable' in survey question 0 expected to be string."),
    (_set(0, required='false'), "'required' in survey question 0 expected to be boolean."),
    (_set(1, variable='t'), "'variable' 't' duplicated in survey question 1."),
    (_set(0, type='checkbox'), "'checkbox' in survey question 0 is not one of 'text, textarea, password, "
                               "multiplechoice, multiselect, integer, float' allowed question types."),
    (_set(1, default='3'), "Default value 3 in survey question 1 expected to be integer."),
    (_set(2, default='1.5'), "Default value 1.5 in survey question 2 expected to be float."),
    (_set(0, default=5), "Default value 5 in survey question 0 expected to be string."),
    (_set(4, default=['a']), "Default value ['a'] in survey question 4 expected to be string."),
    (_set(0, min=''), "The min limit in survey question 0 expected to be integer."),
    (_set(0, max='10'), "The max limit in survey question 0 expected to be integer."),
    (_set(1, min=1.5), "The min limit in survey question 1 expected to be integer."),
    (_drop(3, 'choices'), "Survey question 3 of type multiplechoice must specify choices."),
    (_drop(4, 'choices'), "Survey question 4 of type multiselect must specify choices."),
    (_set(3, default='a\nb'), "Multiple Choice (Single Select) can only have one default value."),
    (_set(3, default='c'), "Default choice must be answered from the choices listed."),
    (_set(4, default='a\nc'), "Default choice must be answered from the choices listed."),
    (_set(0, default='$encrypted$'), "$encrypted$ is a reserved keyword for password question defaults, "
                                     "survey question 0 is type text."),
    (_set(5, default='$encrypted$'), "$encrypted$ is a reserved keyword, may not be used for new default in "
                                     "position 5."),
])
def test_each_awx_rule(change, message):
    errors = validate_survey_spec(broken(change))
    assert message in errors, errors
    assert len(errors) == 1, errors


def test_awx_rule_quirks():
    """What AWX lets through, transcribed as it is."""
    # A blank default is no default, whatever the type; None limits are no limits.
    assert validate_survey_spec(broken(_set(1, default='', min=None, max=None))) == []
    # bool is an int in Python: AWX takes True as an integer default.
    assert validate_survey_spec(broken(_set(1, default=True))) == []
    # Choices given as one string are searched as a string: a default that is part of a choice passes.
    assert validate_survey_spec(broken(_set(3, choices='alpha\nbeta', default='alp'))) == []
    assert validate_survey_spec(broken(_set(3, choices=['alpha', 'beta'], default='alp'))) == [
        'Default choice must be answered from the choices listed.']
    # A password default of $encrypted$ keeps the stored one, when there is one.
    old = broken(_set(5, default='$encrypted$AESCBC$x'))
    assert validate_survey_spec(broken(_set(5, default='$encrypted$')), old_spec=old) == []
    # Questions go on being checked after a bad one (AWX stops at the first).
    assert len(validate_survey_spec(broken(lambda s: (s['spec'][0].update(type='x'), s['spec'][1].update(min='1'))))) == 2
    assert validate_survey_spec(['not', 'a', 'mapping']) == ['survey spec is not a json object']


# --- AWX at launch ------------------------------------------------------------------------------------

def test_defaults_then_answers():
    survey = good_survey()
    assert answers_to_extra_vars(survey, {'i': 4}) == {'t': 'x', 'i': 4, 'f': 1, 'm': 'a'}
    assert answers_to_extra_vars(survey, {'i': 4, 't': 'y', 's': ['b'], 'p': 'pw'}) == {
        't': 'y', 'i': 4, 'f': 1, 'm': 'a', 's': ['b'], 'p': 'pw'}
    # The job template's extra vars come first, survey defaults over them, answers over both.
    assert answers_to_extra_vars(survey, {'i': 4}, template_extra_vars={'t': 'jt', 'other': 1}) == {
        't': 'x', 'other': 1, 'i': 4, 'f': 1, 'm': 'a'}


def test_launch_quirks():
    survey = good_survey()
    # A multiselect default is a string, which the launch check wants as a list: never applied.
    assert 's' not in answers_to_extra_vars(survey, {'i': 1})
    # A default that fails its own question's check is dropped without a word.
    survey['spec'][0]['default'] = 'far too long for max 10'
    assert 't' not in answers_to_extra_vars(survey, {'i': 1})
    # Answers to no question are ignored, unless the template prompts for extra vars.
    assert 'zz' not in answers_to_extra_vars(survey, {'i': 1, 'zz': 2})
    assert answers_to_extra_vars(survey, {'i': 1, 'zz': 2}, ask_variables_on_launch=True)['zz'] == 2
    # A password answer of $encrypted$ keeps the default (here: none).
    assert 'p' not in answers_to_extra_vars(survey, {'i': 1, 'p': '$encrypted$'})
    survey['spec'][5]['default'] = 'stored'
    assert answers_to_extra_vars(survey, {'i': 1, 'p': '$encrypted$'})['p'] == 'stored'


@pytest.mark.parametrize('answers, message', [
    ({}, "'i' value missing"),
    ({'i': '4'}, "Value 4 for 'i' expected to be an integer."),
    ({'i': True}, "Value True for 'i' expected to be an integer."),
    ({'i': 1, 'f': '1.5'}, "Value 1.5 for 'f' expected to be a numeric type."),
    ({'i': 1, 't': 5}, "Value 5 for 't' expected to be a string."),
    ({'i': 1, 't': 'x' * 11}, "'t' value %s is too large (must be no more than 10)." % ('x' * 11)),
    ({'i': 1, 'm': 'c'}, "Value c for 'm' expected to be one of ['a', 'b']."),
    ({'i': 1, 's': 'a'}, "'s' value is expected to be a list."),
    ({'i': 1, 's': ['a', 'c']}, "Value c for 's' expected to be one of ['a', 'b']."),
])
def test_answers_refused(answers, message):
    with pytest.raises(SurveyError) as caught:
        answers_to_extra_vars(good_survey(), answers)
    assert message in caught.value.errors, caught.value.errors


def test_limits_at_launch():
    survey = broken(_set(1, min=2, max=5))
    survey['spec'][0]['min'] = 2
    survey['spec'][2].update(min=0, max=1)
    assert answers_to_extra_vars(survey, {'i': 2, 't': 'ab', 'f': 1.0})['i'] == 2
    with pytest.raises(SurveyError) as caught:
        answers_to_extra_vars(survey, {'i': 6, 't': 'a', 'f': -0.5})
    assert caught.value.errors == [
        "'t' value a is too small (length is 1 must be at least 2).",
        "'i' value 6 is too large (must be no more than 5).",
        "'f' value -0.5 is too small (must be at least 0).",
    ]
    assert survey_element_validation(survey['spec'][1], {'i': 1}) == ["'i' value 1 is too small (must be at least 2)."]
    assert survey_element_validation(survey['spec'][1], {}, validate_required=False) == []


def test_invalid_survey_refused_at_launch():
    with pytest.raises(SurveyError, match='would not store'):
        answers_to_extra_vars(broken(lambda s: s.pop('name')), {})


# --- every argument spec of the repository -------------------------------------------------------------

def _spec_files():
    return sorted(glob.glob(os.path.join(TOP, 'roles', '*', 'meta', 'argument_specs.yml'))
                  + glob.glob(os.path.join(TOP, 'playbooks', 'argument_specs', '*.yml')))


def _entry_points():
    found = []
    for path in _spec_files():
        with open(path) as f:
            data = yaml.safe_load(f)
        for entry_point in data['argument_specs']:
            found.append(pytest.param(path, entry_point, id='%s:%s' % (os.path.relpath(path, TOP), entry_point)))
    return found


def _unaskable(option):
    kind = option.get('type', 'str')
    return kind in ('dict', 'raw') or (kind == 'list' and option.get('elements') in ('dict', 'list', 'raw'))


def _answer(question):
    """A valid answer to a required question, as the launch form would send it."""
    if question['type'] in ('multiplechoice',):
        return question['choices'][0]
    if question['type'] == 'multiselect':
        return question['choices'][:1]
    return {'integer': 1, 'float': 1.5}.get(question['type'], 'answer')


def test_the_repository_has_argument_specs():
    assert len(_entry_points()) >= 11


@pytest.mark.parametrize('path, entry_point', _entry_points())
def test_every_real_argument_spec(path, entry_point):
    with open(path) as f:
        data = yaml.safe_load(f)
    options = data['argument_specs'][entry_point].get('options') or {}
    exclude = [name for name, option in options.items() if _unaskable(option)]
    if exclude:
        # Never left out silently: without the exclusion, the first one is an error.
        with pytest.raises(SurveyError, match='option %s ' % exclude[0]):
            survey_from_argument_spec(data, entry_point)
    survey = survey_from_argument_spec(data, entry_point, exclude=exclude)
    assert validate_survey_spec(survey) == []
    asked = [name for name in options if name not in exclude]
    assert [q['variable'] for q in survey['spec']] == asked

    answers = dict((q['variable'], _answer(q)) for q in survey['spec'] if q['required'])
    extra_vars = answers_to_extra_vars(survey, answers)
    # What the extra vars carry, checked alone: the spec's own defaults (some of them descriptions
    # of computed values) are the playbook's or role's business.
    kept = dict((name, dict((k, v) for k, v in option.items() if k != 'default'))
                for name, option in options.items() if name in asked)
    result = ArgumentSpecValidator(kept).validate(extra_vars)
    assert result.error_messages == []
    validated = result.validated_parameters
    for question in survey['spec']:
        name = question['variable']
        option = options[name]
        if name in answers:
            continue
        if 'default' in question:
            # The default comes back as what the option's type makes of the option's own default.
            assert name in extra_vars
            own = ArgumentSpecValidator({name: dict(option)}).validate({name: option['default']})
            assert own.error_messages == []
            assert validated[name] == own.validated_parameters[name], name
        else:
            assert name not in extra_vars
            default = option.get('default')
            computed = isinstance(default, str) and ('{{' in default or option.get('type', 'str') not in ('str', 'path'))
            assert default in (None, [], '') or computed, (name, default)
            if computed:
                assert 'Left blank: ' in question['question_description'], name
