"""The SAM transform of template.yaml in each AuthMode, as CloudFormation runs it on deploy.

`sam validate --lint` and `cfn-lint` read the template with the parameters' defaults only: a
form SAM cannot transform in the other mode (an `!If` in `Auth.DefaultAuthorizer`, say) passes
both. This runs SAM's translator itself with AuthMode signature and jwt. CodeUri is replaced by
an S3 URI, as `sam deploy` packages it. Offline: no AWS call.

Usage: python scripts/sam-transform.py template.yaml   (the .venv python of `bootstrap.sh sam`)
"""

import logging
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """The template names no managed policy: nothing to look up in IAM."""

    def load(self):
        return {}


def main(path):
    # The translator warns of metrics it was not asked to publish.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    failed = False
    for mode in ["signature", "jwt"]:
        with open(path) as f:
            template = yaml_parse(f.read())
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
        parameters = {
            "AuthMode": mode,
            "JwtIssuer": "https://issuer.example.com",
            "JwtAudience": "payments",
        }
        try:
            out = transform(template, parameters, NoManagedPolicies())
        except Exception as e:  # the translator's errors name the resource and property
            print(f"AuthMode={mode}: the SAM transform fails: {e}", file=sys.stderr)
            failed = True
            continue
        print(f"AuthMode={mode}: the SAM transform gives {len(out['Resources'])} resources")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
