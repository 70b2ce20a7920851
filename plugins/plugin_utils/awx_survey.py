# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX job template surveys made from Ansible argument specs, and AWX's own checks of them.

``survey_from_argument_spec`` turns one entry point of an argument spec (a role's
``meta/argument_specs.yml`` or a playbook's ``playbooks/argument_specs/*.yml``) into the
``survey_spec`` AWX stores on a job template (``POST /api/v2/job_templates/N/survey_spec/``).
``validate_survey_spec`` and ``answers_to_extra_vars`` transcribe what the AWX server does with
it, so that tests can prove a generated survey is accepted and launches with the right extra vars.

Transcribed from ansible/awx at commit e21dd0a0933fd544d1fe2513c54fe41203775eb5 (2024-10-23,
``git describe``: 24.6.1-145-ge21dd0a093):

- ``awx/api/views/__init__.py`` ``JobTemplateSurveySpec._validate_spec_data`` (the check of a
  survey when it is saved) -> ``validate_survey_spec``;
- ``awx/main/constants.py`` ``SURVEY_TYPE_MAPPING`` -> ``SURVEY_TYPE_MAPPING``;
- ``awx/main/models/mixins.py`` ``SurveyJobTemplateMixin._survey_element_validation``,
  ``_accept_or_ignore_variables`` and ``_update_unified_job_kwargs`` (what a launch checks and the
  extra vars it makes: job template extra vars, then the survey's defaults, then the answers)
  -> ``survey_element_validation`` and ``answers_to_extra_vars``.

What AWX passes for an optional question left blank. The server never makes up a blank:
``_update_unified_job_kwargs`` (awx/main/models/mixins.py) adds the question's ``default`` when the
variable is absent from the launch's extra vars (and only when that default passes
``_survey_element_validation``), else the variable is simply absent. The UI leaves a blank answer
out: ``awx/ui/src/util/prompt/getSurveyValues.js`` drops every survey value that is ``''`` or an
empty list before ``awx/ui/src/components/LaunchPrompt/LaunchPrompt.js`` merges them into
``extra_vars`` (``awx/ui/src/util/prompt/mergeExtraVars.js``); an emptied number field holds ``''``
(Formik's parsing of ``type="number"`` inputs in ``awx/ui/src/components/LaunchPrompt/steps/SurveyStep.js``
NumberField) and is dropped the same way; a cleared multiplechoice is set to ``''``, a cleared
multiselect to ``[]``, both dropped. (That UI is the one AWX shipped until commit 78f345c486 "Remove
old UI", July 2024; read at its parent 3f8274d3713556187d57ac26dcd3b8873e8009f3.) So a blank optional
question reaches the playbook either as its survey default (the UI pre-fills the default and
re-adds it server-side when the operator clears it) or not at all: never as ``''`` or ``null``
through the UI. Only an API client (awx CLI, awx.awx.job_launch) can send ``''``, and only for
text/textarea/password/multiplechoice-with-''-choice questions (an integer or float question refuses
``''``: "expected to be an integer"/"a numeric type"). Playbooks must therefore treat an absent
variable as "not given" (``| default(...)``/role defaults), and should still treat ``''`` from the
API like absent for text questions. One quirk: a multiselect default (a newline-joined string)
fails ``_survey_element_validation`` (it wants a list), so the server never applies it; only the
UI (which pre-fills the default as a list) sends it.

Choices of this converter beyond AWX: a default that is computed (a string holding Jinja, or a
string where the option's type wants another type, such as ``groups['cloud']`` for a list) is not
a value AWX could pass, so the question gets no default and its description says what applies
when it is left blank (the playbook's or role's own default does); an empty-list default, an empty
secret default and a None default give no default either (a blank answer is omitted, see above).
AWX sets no length limit on ``question_name``; we keep it to ``QUESTION_NAME_MAX`` characters
for the launch form.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import re

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types

# awx/main/constants.py SURVEY_TYPE_MAPPING (commit above).
SURVEY_TYPE_MAPPING = {'text': str, 'textarea': str, 'password': str, 'multiplechoice': str, 'multiselect': str,
                       'integer': int, 'float': (float, int)}

TEXT_MIN = 0
TEXT_MAX = 1024
QUESTION_NAME_MAX = 80
BOOL_CHOICES = ['true', 'false']
_SCALAR_ELEMENTS = (None, 'str', 'path', 'int', 'float', 'bool')
_MARKUP = re.compile(r'\b(?:RV|[BCEIMOUV])\(([^()]*)\)')
_LINK = re.compile(r'\bL\(([^(),]*),[^()]*\)')
_JINJA = ('{{', '{%')
_INT = re.compile(r'^[-+]?\d+$')
_FLOAT = re.compile(r'^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$')


class SurveyError(Exception):
    """An argument spec that cannot become a survey, a survey AWX refuses, or answers it refuses."""

    def __init__(self, message, errors=None):
        super(SurveyError, self).__init__(message)
        self.errors = list(errors or [])


# --- argument spec -> survey ------------------------------------------------------------------

def _lines(description):
    if description is None:
        return []
    if isinstance(description, string_types):
        return [to_text(description)]
    return [to_text(line) for line in description]


def _plain(text):
    """Ansible doc markup (C(x), V(x), O(x), L(text,url), ...) as plain text for the launch form."""
    return _LINK.sub(r'\1', _MARKUP.sub(r'\1', text))


def _question_name(variable, lines):
    text = ' '.join(_plain(line).strip() for line in lines).strip()
    if not text:
        return variable
    match = re.search(r'[.;:!?](\s|$)', text)
    first = (text[:match.start()] if match else text).strip() or variable
    if len(first) > QUESTION_NAME_MAX:
        first = first[:QUESTION_NAME_MAX - 3].rstrip() + '...'
    return first


def _is_jinja(value):
    return isinstance(value, string_types) and any(mark in value for mark in _JINJA)


class _Computed(Exception):
    """The option's default is no value a survey can pass (an expression or a description)."""


def _scalar_text(option, value):
    if isinstance(value, (dict, list, tuple)):
        raise SurveyError('option %s: default %r is not a scalar' % (option, value))
    if _is_jinja(value):
        raise _Computed()
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return to_text(value)


def _convert_default(option, qtype, spec_type, value, choices):
    """The option's default as AWX stores it for a question of type qtype; _Computed if none applies."""
    if qtype in ('text', 'password') and spec_type != 'list':
        return _scalar_text(option, value)
    if qtype == 'integer':
        if isinstance(value, bool):
            raise SurveyError('option %s: default %r is a boolean, the option is an int' % (option, value))
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, string_types):
            if _INT.match(value.strip()):
                return int(value)
            raise _Computed()
        raise SurveyError('option %s: default %r is not an int' % (option, value))
    if qtype == 'float':
        if isinstance(value, bool):
            raise SurveyError('option %s: default %r is a boolean, the option is a float' % (option, value))
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, string_types):
            if _FLOAT.match(value.strip()):
                return float(value)
            raise _Computed()
        raise SurveyError('option %s: default %r is not a float' % (option, value))
    if spec_type == 'bool':
        try:
            return 'true' if boolean(value, strict=True) else 'false'
        except TypeError:
            if isinstance(value, string_types):
                raise _Computed()
            raise SurveyError('option %s: default %r is not a boolean' % (option, value))
    if spec_type == 'list':
        if not isinstance(value, (list, tuple)):
            if isinstance(value, string_types):
                raise _Computed()
            raise SurveyError('option %s: default %r is not a list' % (option, value))
        items = [_scalar_text(option, item) for item in value]
        if not items:
            raise _Computed()
        if qtype == 'multiselect':
            wrong = [item for item in items if item not in choices]
            if wrong:
                raise SurveyError('option %s: default %s not among its choices %s'
                                  % (option, ', '.join(wrong), ', '.join(choices)))
            return '\n'.join(items)
        if any(',' in item for item in items):
            raise SurveyError('option %s: default %r has an item with a comma, which a comma-separated answer '
                              'cannot carry; exclude the option or change its default' % (option, value))
        return ','.join(items)
    # multiplechoice of a scalar option
    text = _scalar_text(option, value)
    if text not in choices:
        raise SurveyError('option %s: default %s is not one of its choices %s' % (option, text, ', '.join(choices)))
    return text


def _question(variable, option):
    if not isinstance(option, dict):
        raise SurveyError('option %s is not a mapping' % variable)
    spec_type = option.get('type', 'str')
    elements = option.get('elements')
    choices = option.get('choices')
    secret = boolean(option.get('no_log', False), strict=False)
    fix = 'exclude it or give it a scalar type (str, path, int, float, bool, or list of scalars)'
    if secret and spec_type not in ('str', 'path'):
        raise SurveyError('option %s is a secret (no_log) of type %s; a password question carries a string: %s'
                          % (variable, spec_type, fix))
    if spec_type == 'list' and elements not in _SCALAR_ELEMENTS:
        raise SurveyError('option %s is a list of %s, which a survey cannot ask for: %s' % (variable, elements, fix))
    if spec_type not in ('str', 'path', 'int', 'float', 'bool', 'list'):
        raise SurveyError('option %s has type %s, which a survey cannot ask for: %s' % (variable, spec_type, fix))

    lines = _lines(option.get('description'))
    description = ' '.join(_plain(line).strip() for line in lines).strip()
    question = {'question_name': _question_name(variable, lines), 'question_description': description,
                'required': boolean(option.get('required', False), strict=False), 'variable': variable}
    texts = None
    if choices is not None and spec_type != 'bool':
        if not isinstance(choices, (list, tuple)) or not choices:
            raise SurveyError('option %s: choices must be a non-empty list' % variable)
        texts = [_scalar_text(variable, choice) for choice in choices]
    if secret:
        qtype = 'password'
    elif spec_type == 'bool':
        qtype, texts = 'multiplechoice', list(BOOL_CHOICES)
    elif spec_type == 'list':
        qtype = 'multiselect' if texts is not None else 'text'
        if qtype == 'text':
            note = 'Comma-separated list.'
            question['question_description'] = ('%s %s' % (description, note)).strip()
    elif texts is not None:
        qtype = 'multiplechoice'
    else:
        qtype = {'int': 'integer', 'float': 'float'}.get(spec_type, 'text')
    question['type'] = qtype
    if qtype in ('text', 'password'):
        question['min'], question['max'] = TEXT_MIN, TEXT_MAX
    if qtype in ('multiplechoice', 'multiselect'):
        question['choices'] = texts

    default = option.get('default')
    if secret and default not in (None, ''):
        raise SurveyError('option %s is a secret (no_log) with a default: a survey must not carry a secret; '
                          'drop the default or exclude the option' % variable)
    blank = default is None or (default == '' and (qtype != 'text' or spec_type == 'list'))
    if not blank:
        try:
            question['default'] = _convert_default(variable, qtype, spec_type, default, texts)
        except _Computed:
            if not (isinstance(default, (list, tuple)) and not default):
                shown = default if isinstance(default, string_types) else repr(default)
                question['question_description'] = ('%s Left blank: %s.' % (
                    question['question_description'], _plain(to_text(shown)))).strip()
    return question


def _entry(spec, entry_point):
    if not isinstance(spec, dict):
        raise SurveyError('expected an argument spec (a mapping), got %s' % type(spec).__name__)
    if 'argument_specs' in spec:
        entries = spec['argument_specs']
        if not isinstance(entries, dict) or entry_point not in entries:
            raise SurveyError('the argument spec has no entry point %s (it has: %s)' % (
                entry_point, ', '.join(sorted(entries or {})) if isinstance(entries, dict) else 'none'))
        spec = entries[entry_point]
        if not isinstance(spec, dict):
            raise SurveyError('entry point %s is not a mapping' % entry_point)
    options = spec.get('options') or {}
    if not isinstance(options, dict):
        raise SurveyError('the options of entry point %s are not a mapping' % entry_point)
    return spec, options


def survey_from_argument_spec(spec, entry_point='main', name=None, description=None, exclude=(), only=None):
    """The AWX survey_spec for one entry point of an argument spec.

    spec is a whole argument spec file as loaded (with ``argument_specs``) or one entry point.
    Questions follow the options' order; ``exclude`` drops options, ``only`` (when not empty)
    keeps only those. Raises SurveyError for an option no question can ask for, and when the
    result would not pass AWX's own checks.
    """
    entry, options = _entry(spec, entry_point)
    exclude = list(exclude or ())
    only = list(only or ())
    unknown = [option for option in exclude + only if option not in options]
    if unknown:
        raise SurveyError('not options of entry point %s: %s (its options: %s)' % (
            entry_point, ', '.join(to_text(u) for u in unknown), ', '.join(options)))
    questions = [_question(to_text(variable), option) for variable, option in options.items()
                 if variable not in exclude and (not only or variable in only)]
    if not questions:
        raise SurveyError('entry point %s leaves no question (AWX refuses an empty survey)' % entry_point)
    if name is None:
        name = entry.get('short_description') or entry_point
    if description is None:
        description = ' '.join(_plain(line).strip() for line in _lines(entry.get('description'))).strip()
    survey = {'name': to_text(name), 'description': to_text(description), 'spec': questions}

    errors = validate_survey_spec(survey)
    for question in questions:
        # AWX drops a default that fails this check from a launch without a word. A multiselect
        # default always fails it (a string, where an answer is a list): only the UI applies it.
        if 'default' in question and question['type'] != 'multiselect':
            errors += survey_element_validation(question, {question['variable']: question['default']})
    if errors:
        raise SurveyError('the survey for entry point %s would not pass AWX: %s' % (entry_point, '; '.join(errors)),
                          errors)
    return survey


# --- AWX: saving a survey ------------------------------------------------------------------------

def _pivot_spec(spec):
    """awx/main/models/mixins.py SurveyJobTemplateMixin.pivot_spec."""
    pivoted = {}
    for element_data in (spec or {}).get('spec', []):
        if 'variable' in element_data:
            pivoted[element_data['variable']] = element_data
    return pivoted


def _validate_item(idx, survey_item, variable_set, old_spec_dict):
    """One question, as the loop of _validate_spec_data checks it: its first error, or None."""
    if not isinstance(survey_item, dict):
        return "Survey question %s is not a json object." % idx
    for field_name in ['type', 'question_name', 'variable', 'required']:
        if field_name not in survey_item:
            return "'%s' missing from survey question %s" % (field_name, idx)
        allow_types, type_label = (bool, 'boolean') if field_name == 'required' else (str, 'string')
        if not isinstance(survey_item[field_name], allow_types):
            return "'%s' in survey question %s expected to be %s." % (field_name, idx, type_label)
    if survey_item['variable'] in variable_set:
        return "'variable' '%s' duplicated in survey question %s." % (survey_item['variable'], idx)
    variable_set.add(survey_item['variable'])

    qtype = survey_item['type']
    if qtype not in SURVEY_TYPE_MAPPING:
        return "'%s' in survey question %s is not one of '%s' allowed question types." % (
            qtype, idx, ', '.join(SURVEY_TYPE_MAPPING))
    if 'default' in survey_item and survey_item['default'] != '':
        if not isinstance(survey_item['default'], SURVEY_TYPE_MAPPING[qtype]):
            type_label = qtype if qtype in ['integer', 'float'] else 'string'
            return "Default value %s in survey question %s expected to be %s." % (survey_item['default'], idx, type_label)
    for key in ['min', 'max']:
        if key in survey_item and survey_item[key] is not None and not isinstance(survey_item[key], int):
            return "The %s limit in survey question %s expected to be integer." % (key, idx)
    if qtype in ('multiselect', 'multiplechoice'):
        if 'choices' not in survey_item:
            return "Survey question %s of type %s must specify choices." % (idx, qtype)
        if isinstance(survey_item['choices'], str):
            survey_item['choices'] = '\n'.join(c for c in survey_item['choices'].splitlines() if c.strip() != '')
        if 'default' in survey_item:
            if isinstance(survey_item['default'], str):
                survey_item['default'] = '\n'.join(c for c in survey_item['default'].splitlines() if c.strip() != '')
                list_of_defaults = survey_item['default'].splitlines()
            else:
                list_of_defaults = survey_item['default']
            if qtype == 'multiplechoice' and len(list_of_defaults) > 1:
                return "Multiple Choice (Single Select) can only have one default value."
            try:
                # AWX tests `in` on the choices as given: a list, or (choices as one string) a substring.
                outside = any(item not in survey_item['choices'] for item in list_of_defaults)
            except TypeError:
                # AWX answers such a survey with a server error (HTTP 500).
                return "Survey question %s: choices %r cannot be searched (AWX fails with a server error)." % (
                    idx, survey_item['choices'])
            if outside:
                return "Default choice must be answered from the choices listed."
    if 'default' in survey_item and isinstance(survey_item['default'], str) and survey_item['default'].startswith('$encrypted$'):
        if qtype != 'password':
            return ("$encrypted$ is a reserved keyword for password question defaults, survey question %s is type %s."
                    % (idx, qtype))
        old_element = old_spec_dict.get(survey_item['variable'], {})
        old_default = old_element.get('default')
        if not (isinstance(old_default, str) and (old_default.startswith('$encrypted$') or old_default == '')):
            return "$encrypted$ is a reserved keyword, may not be used for new default in position %s." % idx
    return None


def validate_survey_spec(survey, old_spec=None):
    """The errors AWX's JobTemplateSurveySpec._validate_spec_data (awx/api/views/__init__.py) finds
    in a survey_spec being saved; an empty list when AWX accepts it.

    AWX answers the first error only (HTTP 400); this goes on to the next question instead.
    ``old_spec`` is the survey the job template had (it decides whether a password default
    of ``$encrypted$`` keeps a stored secret). The survey is not modified.
    """
    if not isinstance(survey, dict):
        # AWX's request.data for a JSON body other than an object fails before the checks.
        return ['survey spec is not a json object']
    errors = []
    for field, expect_type, type_label in [('name', str, 'string'), ('description', str, 'string'),
                                           ('spec', list, 'list of items')]:
        if field not in survey:
            errors.append("Field '%s' is missing from survey spec." % field)
        elif not isinstance(survey[field], expect_type):
            errors.append("Expected %s for field '%s', received %s type."
                          % (type_label, field, type(survey[field]).__name__))
    if isinstance(survey.get('spec'), list) and len(survey['spec']) < 1:
        errors.append("'spec' doesn't contain any items.")
    if errors:
        return errors
    variable_set = set()
    old_spec_dict = _pivot_spec(old_spec)
    for idx, survey_item in enumerate(copy.deepcopy(survey['spec'])):
        error = _validate_item(idx, survey_item, variable_set, old_spec_dict)
        if error:
            errors.append(error)
    return errors


# --- AWX: launching with a survey ----------------------------------------------------------------

def survey_element_validation(survey_element, data, validate_required=True):
    """awx/main/models/mixins.py SurveyJobTemplateMixin._survey_element_validation: the errors of
    one question's answer in data (the launch's extra vars)."""
    errors = []
    variable = survey_element['variable']
    qtype = survey_element['type']
    if qtype == 'password':
        password_value = data.get(variable)
        if isinstance(password_value, str) and password_value == '$encrypted$':
            if survey_element.get('default') is None and survey_element['required'] and validate_required:
                errors.append("'%s' value missing" % variable)
            return errors

    if variable not in data and survey_element['required']:
        if validate_required:
            errors.append("'%s' value missing" % variable)
    elif qtype in ['textarea', 'text', 'password']:
        if variable in data:
            value = data[variable]
            if not isinstance(value, str):
                errors.append("Value %s for '%s' expected to be a string." % (value, variable))
                return errors
            if 'min' in survey_element and survey_element['min'] not in ['', None] and len(value) < int(survey_element['min']):
                errors.append("'%s' value %s is too small (length is %s must be at least %s)."
                              % (variable, value, len(value), survey_element['min']))
            if 'max' in survey_element and survey_element['max'] not in ['', None] and len(value) > int(survey_element['max']):
                errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, survey_element['max']))
    elif qtype == 'integer':
        if variable in data:
            value = data[variable]
            # AWX: type(value) != int (JSON gives no int subclass but bool).
            if not isinstance(value, int) or isinstance(value, bool):
                errors.append("Value %s for '%s' expected to be an integer." % (value, variable))
                return errors
            if 'min' in survey_element and survey_element['min'] not in ['', None] and value < int(survey_element['min']):
                errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, survey_element['min']))
            if 'max' in survey_element and survey_element['max'] not in ['', None] and value > int(survey_element['max']):
                errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, survey_element['max']))
    elif qtype == 'float':
        if variable in data:
            value = data[variable]
            if type(value) not in (float, int):
                errors.append("Value %s for '%s' expected to be a numeric type." % (value, variable))
                return errors
            if 'min' in survey_element and survey_element['min'] not in ['', None] and value < float(survey_element['min']):
                errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, survey_element['min']))
            if 'max' in survey_element and survey_element['max'] not in ['', None] and value > float(survey_element['max']):
                errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, survey_element['max']))
    elif qtype == 'multiselect':
        if variable in data:
            if not isinstance(data[variable], list):  # AWX: type(...) != list
                errors.append("'%s' value is expected to be a list." % variable)
            else:
                choice_list = copy.copy(survey_element['choices'])
                if isinstance(choice_list, str):
                    choice_list = [choice for choice in choice_list.splitlines() if choice.strip() != '']
                for val in data[variable]:
                    if val not in choice_list:
                        errors.append("Value %s for '%s' expected to be one of %s." % (val, variable, choice_list))
    elif qtype == 'multiplechoice':
        choice_list = copy.copy(survey_element['choices'])
        if isinstance(choice_list, str):
            choice_list = [choice for choice in choice_list.splitlines() if choice.strip() != '']
        if variable in data and data[variable] not in choice_list:
            errors.append("Value %s for '%s' expected to be one of %s." % (data[variable], variable, choice_list))
    return errors


def answers_to_extra_vars(survey, answers, ask_variables_on_launch=False, template_extra_vars=None):
    """The extra vars of a job AWX launches with these survey answers (the launch's extra_vars).

    Like AWX's launch (awx/main/models/mixins.py): every question's answer is checked by
    _survey_element_validation (missing required answers included) in _accept_or_ignore_variables,
    and any error refuses the launch (SurveyError with the list); answers to no question are
    ignored unless ask_variables_on_launch. Then _update_unified_job_kwargs: the job template's
    extra vars, overwritten by each question's default that passes the question's own check,
    overwritten by the answers. A password answer of ``$encrypted$`` keeps the default.
    Unlike AWX, a password default is taken as stored in clear (we never store encrypted ones).
    """
    errors = validate_survey_spec(survey)
    if errors:
        raise SurveyError('AWX would not store this survey: %s' % '; '.join(errors), errors)
    data = dict(answers or {})

    # _accept_or_ignore_variables
    extra_vars = dict(data)
    accepted = {}
    survey_errors = []
    for survey_element in survey['spec']:
        key = survey_element.get('variable')
        element_errors = survey_element_validation(survey_element, data)
        if element_errors:
            survey_errors += element_errors
            extra_vars.pop(key, None)
        elif key in extra_vars:
            accepted[key] = extra_vars.pop(key)
    if ask_variables_on_launch:
        accepted.update(extra_vars)
    if survey_errors:
        raise SurveyError('AWX would refuse the launch: %s' % '; '.join(survey_errors), survey_errors)

    # _update_unified_job_kwargs
    result = dict(template_extra_vars or {})
    runtime_extra_vars = accepted
    survey_defaults = {}
    for survey_element in survey['spec']:
        default = survey_element.get('default')
        variable_key = survey_element.get('variable')
        if survey_element.get('type') == 'password' and runtime_extra_vars.get(variable_key, None) == '$encrypted$':
            runtime_extra_vars.pop(variable_key)
        if default is not None:
            if not survey_element_validation(survey_element, {variable_key: default}):
                survey_defaults[variable_key] = default
    result.update(survey_defaults)
    result.update(runtime_extra_vars)
    return result
