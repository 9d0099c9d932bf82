"""Change sets go when their stack is updated, as AWS documents: "When you execute a
change set, CloudFormation deletes all other change sets associated with the stack
because they aren't valid for the updated stack" (ExecuteChangeSet, CloudFormation API
Reference), and "Unless you delete them, CloudFormation retains all change sets until
you update the stack" (Delete a change set for a CloudFormation stack, CloudFormation
User Guide). moto 5.2.5 keeps every change set after it ran, so a test could not tell a
dry run or an interrupted deploy that left its change set from one that did not.
"""

from moto.cloudformation.models import CloudFormationBackend

_execute = CloudFormationBackend.execute_change_set


def _execute_change_set(self, change_set_name, stack_name=None):
    _execute(self, change_set_name, stack_name)
    executed = self.change_sets.get(change_set_name) or next(
        (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None
    )
    if executed is not None:
        for change_set_id in [k for k, cs in self.change_sets.items() if cs.stack_id == executed.stack_id]:
            del self.change_sets[change_set_id]


CloudFormationBackend.execute_change_set = _execute_change_set
