"""CloudFormation intrinsics, resolved the way a deployed stack would see them, with local values.

`Resolver.resolve` turns `{"Ref": ...}`, `{"Fn::Sub": ...}`, `{"Fn::GetAtt": ...}`, `Fn::If` and the
other intrinsics of `template.load()` into plain values: parameters take their default (or an
override), resources their local physical id (`smtp-hub-local-AppsTable`, moto's user pool id).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "smtp-hub-local"


class _NoValue:
    """AWS::NoValue: the property or list item disappears."""


NO_VALUE = _NoValue()
_SUB = re.compile(r"\$\{([^}]+)\}")


class TemplateError(ValueError):
    """The template uses something the local runtime cannot resolve."""


class Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        stack_name: str = STACK_NAME,
        region: str = REGION,
        account_id: str = ACCOUNT_ID,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.overrides = dict(parameters or {})
        unknown = set(self.overrides) - set(template.get("Parameters", {}))
        if unknown:
            raise TemplateError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        # Filled by whoever creates the resource locally (moto's pool id, a table's name, ...).
        self.physical: dict[str, str] = {}
        self.attributes: dict[tuple[str, str], str] = {}

    # --- parameters, conditions ---------------------------------------------------------------------
    def parameter(self, name: str) -> Any:
        spec = self.template.get("Parameters", {}).get(name)
        if spec is None:
            raise TemplateError(f"unknown parameter {name}")
        if name in self.overrides:
            value: Any = self.overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default: pass it with --parameter {name}=VALUE")
        kind = spec.get("Type", "String")
        if kind == "Number":
            number = float(value)
            return int(number) if number.is_integer() else number
        if kind in ("CommaDelimitedList", "List<Number>") or kind.startswith("List<"):
            return [item.strip() for item in str(value).split(",")] if isinstance(value, str) else value
        return str(value) if not isinstance(value, str) else value

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return bool(self.resolve(conditions[name]))

    # --- resources ----------------------------------------------------------------------------------
    def _resource(self, name: str) -> Mapping[str, Any]:
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise TemplateError(f"unknown resource {name}")
        found: Mapping[str, Any] = resource
        return found

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.stack_name,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.physical:
            return self.physical[name]
        self._resource(name)
        return f"{self.stack_name}-{name}"

    def get_att(self, name: str, attribute: str) -> str:
        if (name, attribute) in self.attributes:
            return self.attributes[name, attribute]
        kind = self._resource(name)["Type"]
        physical = str(self.ref(name))
        prefix = f"arn:aws:%s:{self.region}:{self.account_id}:"
        if attribute == "Arn":
            arns = {
                "AWS::DynamoDB::Table": prefix % "dynamodb" + f"table/{physical}",
                "AWS::Serverless::Function": prefix % "lambda" + f"function:{physical}",
                "AWS::Lambda::Function": prefix % "lambda" + f"function:{physical}",
                "AWS::Cognito::UserPool": prefix % "cognito-idp" + f"userpool/{physical}",
                "AWS::Logs::LogGroup": prefix % "logs" + f"log-group:{physical}:*",
                "AWS::SNS::Topic": prefix % "sns" + physical,
            }
            return arns.get(kind, prefix % "local" + physical)
        return f"{physical}.{attribute}"

    # --- values -------------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic replaced; AWS::NoValue items and keys removed."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _intrinsic(self, key: str, argument: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per intrinsic
        if key == "Ref":
            return self.ref(str(self.resolve(argument)))
        if key == "Condition":
            return self.condition(str(argument))
        if key == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else self.resolve(argument)
            return self.get_att(str(parts[0]), str(parts[1]))
        if key == "Fn::Sub":
            if isinstance(argument, list):
                text, variables = argument[0], self.resolve(argument[1])
            else:
                text, variables = argument, {}
            return self._sub(str(text), variables)
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(str(name)) else when_false)
        if key == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        if key == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if key == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if key == "Fn::Join":
            separator, items = argument
            return str(separator).join(str(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if key == "Fn::Split":
            separator, text = self.resolve(argument)
            return str(text).split(str(separator))
        if key == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if key == "Fn::FindInMap":
            mapping, top, second = self.resolve(argument)
            return self.template["Mappings"][mapping][top][second]
        if key == "Fn::Base64":
            import base64  # noqa: PLC0415 - rarely needed

            return base64.b64encode(str(self.resolve(argument)).encode()).decode()
        raise TemplateError(f"{key} is not supported by the local runtime")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return str(self.ref(name))

        return _SUB.sub(replace, text)
