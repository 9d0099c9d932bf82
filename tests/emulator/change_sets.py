"""Change sets as AWS runs them, where moto 5.2.5 does otherwise:

- They go when their stack is updated: "When you execute a change set, CloudFormation
  deletes all other change sets associated with the stack because they aren't valid for
  the updated stack" (ExecuteChangeSet, CloudFormation API Reference), and "Unless you
  delete them, CloudFormation retains all change sets until you update the stack"
  (Delete a change set for a CloudFormation stack, CloudFormation User Guide). moto keeps
  them all, so a test could not tell a dry run or an interrupted deploy that left its
  change set from one that did not.
- ListChangeSets "returns the ID and status of each active change set for a stack"
  (ListChangeSets, API Reference): the stack named by its required `StackName`. moto
  lists every stack's, so a deploy that discards its stack's leftover change sets
  deleted other deploys' change sets too.
- A parameter sent with `UsePreviousValue` keeps "the existing value" (Parameter, API
  Reference): the string the stack was last deployed with. moto substitutes the value it
  resolved for its own use (a Number parameter as an int), which then differs from the
  string, so a redeploy that changes nothing looked like a change; and it compares a new
  change set with the parameters the stack was created with, not last updated with.
"""

from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

_execute = CloudFormationBackend.execute_change_set
_create = CloudFormationResponse.create_change_set


def _as_given(value):
    """A resolved parameter value as the string a request gives."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _change_set(backend, name):
    return backend.change_sets.get(name) or next(
        (cs for cs in backend.change_sets.values() if cs.change_set_name == name), None
    )


def _execute_change_set(self, change_set_name, stack_name=None):
    executed = _change_set(self, change_set_name)
    _execute(self, change_set_name, stack_name)
    if executed is None:
        return
    # The stack now holds the parameters it was deployed with.
    executed.stack.parameters = dict(executed.parameters or {})
    # A snapshot: other requests add change sets meanwhile, on the server's other threads.
    for change_set_id, change_set in list(self.change_sets.items()):
        if change_set.stack_id == executed.stack_id:
            self.change_sets.pop(change_set_id, None)


def _create_change_set(self):
    if self._get_param("ChangeSetType", "CREATE") == "UPDATE":
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        previous = {k: _as_given(v) for k, v in stack.stack_parameters.items()}
        previous.update(stack.parameters or {})
        parameters = [
            {"ParameterKey": p["ParameterKey"], "ParameterValue": previous[p["ParameterKey"]]}
            if p.get("UsePreviousValue") in (True, "true") and p["ParameterKey"] in previous
            else p
            for p in self._get_param("Parameters", [])
        ]
        get_param = self._get_param
        self._get_param = lambda name, if_none=None: parameters if name == "Parameters" else get_param(name, if_none)
    return _create(self)


def _list_change_sets(self):
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    change_sets = list(self.cloudformation_backend.change_sets.values())
    return ActionResult({"Summaries": [cs for cs in change_sets if cs.stack_id == stack.stack_id]})


CloudFormationBackend.execute_change_set = _execute_change_set
CloudFormationResponse.list_change_sets = _list_change_sets
CloudFormationResponse.create_change_set = _create_change_set
