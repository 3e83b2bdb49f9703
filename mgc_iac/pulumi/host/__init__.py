"""The Python language host that the Pulumi engine starts as `pulumi-language-python`, written for mgc-iac.

Pulumi's own host (sdk/python/cmd/pulumi-language-python) is a Go module that no registry these machines
reach serves, so tools/pulumi/bin/pulumi-language-python starts this one: `language` is the gRPC
LanguageRuntime server the engine speaks to, `program_runner` is the script it runs in the project's
virtualenv to execute the Pulumi program against the engine's resource monitor.
"""
