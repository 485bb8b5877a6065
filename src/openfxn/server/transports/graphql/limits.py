"""Limits on a GraphQL document's shape, checked before it is validated or run."""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


def check_limits(
    document: DocumentNode, *, max_depth: int, max_aliases: int
) -> list[GraphQLError]:
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    errors = []
    aliases = count_aliases(document)
    if aliases > max_aliases:
        errors.append(
            GraphQLError(
                f"The document uses {aliases} aliases; at most {max_aliases} are "
                "allowed. Split it into several requests."
            )
        )
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        depth = depth_of(definition.selection_set, fragments, frozenset())
        if depth > max_depth:
            errors.append(
                GraphQLError(
                    f"The operation nests {depth} levels deep; at most {max_depth} "
                    "are allowed. Select fewer nested fields."
                )
            )
    return errors


def count_aliases(document: DocumentNode) -> int:
    count = 0
    stack: list[object] = list(document.definitions)
    while stack:
        node = stack.pop()
        if isinstance(node, FieldNode) and node.alias is not None:
            count += 1
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return count


def depth_of(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: frozenset[str],
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            depth = 1 + depth_of(selection.selection_set, fragments, visiting)
        elif isinstance(selection, InlineFragmentNode):
            depth = depth_of(selection.selection_set, fragments, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            # A cycle is reported by validation; here it only must not recurse forever.
            if name in visiting or name not in fragments:
                continue
            depth = depth_of(
                fragments[name].selection_set, fragments, visiting | {name}
            )
        else:
            continue
        deepest = max(deepest, depth)
    return deepest
