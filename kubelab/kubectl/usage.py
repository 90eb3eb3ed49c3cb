"""kubectl 1.32's help screens, so ``kubectl``, ``kubectl X --help`` and a command group typed
without its subcommand print what a learner would see in a terminal.

Each command keeps the parts of its real help a learner reads first: the one-line summary, its
aliases, its subcommands and its usage line. The long descriptions, examples and option lists of
kubectl's help are left out (they are documentation, not behaviour).
"""
from __future__ import annotations

from dataclasses import dataclass

OPTIONS_HINT = 'Use "kubectl options" for a list of global command-line options (applies to all commands).\n'


@dataclass(frozen=True)
class Help:
    """One command's help: summary, usage line (after ``Usage:``), aliases, subcommands."""

    summary: str
    usage: str
    aliases: str = ""
    commands: tuple[tuple[str, str], ...] = ()


# The command words kubectl also accepts for a (sub)command: the help and errors name the first.
ALIASES = {"ns": "namespace", "deploy": "deployment", "cm": "configmap", "svc": "service",
           "cj": "cronjob", "nodes": "node", "no": "node", "pods": "pod", "po": "pod", "sa": "serviceaccount",
           "pc": "priorityclass", "resourcequota": "quota", "ing": "ingress",
           "pdb": "poddisruptionbudget"}

ROOT_SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ('Basic Commands (Beginner)', (
        ('create', 'Create a resource from a file or from stdin'),
        ('expose', 'Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service'),
        ('run', 'Run a particular image on the cluster'),
        ('set', 'Set specific features on objects'),
    )),
    ('Basic Commands (Intermediate)', (
        ('explain', 'Get documentation for a resource'),
        ('get', 'Display one or many resources'),
        ('edit', 'Edit a resource on the server'),
        ('delete', 'Delete resources by file names, stdin, resources and names, or by resources and label selector'),
    )),
    ('Deploy Commands', (
        ('rollout', 'Manage the rollout of a resource'),
        ('scale', 'Set a new size for a deployment, replica set, or replication controller'),
        ('autoscale', 'Auto-scale a deployment, replica set, stateful set, or replication controller'),
    )),
    ('Cluster Management Commands', (
        ('certificate', 'Modify certificate resources'),
        ('cluster-info', 'Display cluster information'),
        ('top', 'Display resource (CPU/memory) usage'),
        ('cordon', 'Mark node as unschedulable'),
        ('uncordon', 'Mark node as schedulable'),
        ('drain', 'Drain node in preparation for maintenance'),
        ('taint', 'Update the taints on one or more nodes'),
    )),
    ('Troubleshooting and Debugging Commands', (
        ('describe', 'Show details of a specific resource or group of resources'),
        ('logs', 'Print the logs for a container in a pod'),
        ('attach', 'Attach to a running container'),
        ('exec', 'Execute a command in a container'),
        ('port-forward', 'Forward one or more local ports to a pod'),
        ('proxy', 'Run a proxy to the Kubernetes API server'),
        ('cp', 'Copy files and directories to and from containers'),
        ('auth', 'Inspect authorization'),
        ('debug', 'Create debugging sessions for troubleshooting workloads and nodes'),
        ('events', 'List events'),
    )),
    ('Advanced Commands', (
        ('diff', 'Diff the live version against a would-be applied version'),
        ('apply', 'Apply a configuration to a resource by file name or stdin'),
        ('patch', 'Update fields of a resource'),
        ('replace', 'Replace a resource by file name or stdin'),
        ('wait', 'Experimental: Wait for a specific condition on one or many resources'),
        ('kustomize', 'Build a kustomization target from a directory or URL'),
    )),
    ('Settings Commands', (
        ('label', 'Update the labels on a resource'),
        ('annotate', 'Update the annotations on a resource'),
        ('completion', 'Output shell completion code for the specified shell (bash, zsh, fish, or powershell)'),
    )),
    ('Subcommands provided by plugins', ()),
    ('Other Commands', (
        ('api-resources', 'Print the supported API resources on the server'),
        ('api-versions', 'Print the supported API versions on the server, in the form of "group/version"'),
        ('config', 'Modify kubeconfig files'),
        ('plugin', 'Provides utilities for interacting with plugins'),
        ('version', 'Print the client and server version information'),
    )),
)

HELP: dict[str, Help] = {
    'apply': Help(
        "Apply a configuration to a resource by file name or stdin. The resource name must be specified. This resource will be created if it doesn't exist yet. To use 'apply', always create the resource initially with either 'apply' or 'create --save-config'.",
        'kubectl apply (-f FILENAME | -k DIRECTORY) [options]',
        commands=(
            ('edit-last-applied', 'Edit latest last-applied-configuration annotations of a resource/object'),
            ('set-last-applied', 'Set the last-applied-configuration annotation on a live object to match the contents of a file'),
            ('view-last-applied', 'View the latest last-applied-configuration annotations of a resource/object'),
        ),
    ),
    'replace': Help(
        'Replace a resource by file name or stdin.',
        'kubectl replace -f FILENAME [options]',
    ),
    'diff': Help(
        'Diff configurations specified by file name or stdin between the current online configuration, and the configuration as it would be if applied.',
        'kubectl diff -f FILENAME [options]',
    ),
    'create': Help(
        'Create a resource from a file or from stdin.',
        'kubectl create -f FILENAME [options]',
        commands=(
            ('clusterrole', 'Create a cluster role'),
            ('clusterrolebinding', 'Create a cluster role binding for a particular cluster role'),
            ('configmap', 'Create a config map from a local file, directory or literal value'),
            ('cronjob', 'Create a cron job with the specified name'),
            ('deployment', 'Create a deployment with the specified name'),
            ('ingress', 'Create an ingress with the specified name'),
            ('job', 'Create a job with the specified name'),
            ('namespace', 'Create a namespace with the specified name'),
            ('poddisruptionbudget', 'Create a pod disruption budget with the specified name'),
            ('priorityclass', 'Create a priority class with the specified name'),
            ('quota', 'Create a quota with the specified name'),
            ('role', 'Create a role with single rule'),
            ('rolebinding', 'Create a role binding for a particular role or cluster role'),
            ('secret', 'Create a secret using a specified subcommand'),
            ('service', 'Create a service using a specified subcommand'),
            ('serviceaccount', 'Create a service account with the specified name'),
            ('token', 'Request a service account token'),
        ),
    ),
    'create namespace': Help(
        'Create a namespace with the specified name.',
        'kubectl create namespace NAME [--dry-run=server|client|none] [options]',
        aliases='namespace, ns',
    ),
    'create deployment': Help(
        'Create a deployment with the specified name.',
        'kubectl create deployment NAME --image=image -- [COMMAND] [args...] [options]',
        aliases='deployment, deploy',
    ),
    'create configmap': Help(
        'Create a config map based on a file, directory, or specified literal value.',
        'kubectl create configmap NAME [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none] [options]',
        aliases='configmap, cm',
    ),
    'create secret': Help(
        'Create a secret with specified type.',
        'kubectl create secret (docker-registry | generic | tls) [options]',
        commands=(
            ('docker-registry', 'Create a secret for use with a Docker registry'),
            ('generic', 'Create a secret from a local file, directory, or literal value'),
            ('tls', 'Create a TLS secret'),
        ),
    ),
    'create secret generic': Help(
        'Create a secret based on a file, directory, or specified literal value.',
        'kubectl create secret generic NAME [--type=string] [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none] [options]',
    ),
    'create service': Help(
        'Create a service using a specified subcommand.',
        'kubectl create service [flags] [options]',
        aliases='service, svc',
        commands=(
            ('clusterip', 'Create a ClusterIP service'),
            ('externalname', 'Create an ExternalName service'),
            ('loadbalancer', 'Create a LoadBalancer service'),
            ('nodeport', 'Create a NodePort service'),
        ),
    ),
    'create service clusterip': Help(
        'Create a ClusterIP service with the specified name.',
        'kubectl create service clusterip NAME [--tcp=<port>:<targetPort>] [--dry-run=server|client|none] [options]',
    ),
    'create service nodeport': Help(
        'Create a NodePort service with the specified name.',
        'kubectl create service nodeport NAME [--tcp=port:targetPort] [--dry-run=server|client|none] [options]',
    ),
    'create job': Help(
        'Create a job with the specified name.',
        'kubectl create job NAME --image=image [--from=cronjob/name] -- [COMMAND] [args...] [options]',
    ),
    'create cronjob': Help(
        'Create a cron job with the specified name.',
        "kubectl create cronjob NAME --image=image --schedule='0/5 * * * ?' -- [COMMAND] [args...] [flags] [options]",
        aliases='cronjob, cj',
    ),
    'create ingress': Help(
        'Create an ingress with the specified name.',
        'kubectl create ingress NAME --rule=host/path=service:port[,tls[=secret]]  [options]',
        aliases='ingress, ing',
    ),
    'create serviceaccount': Help(
        'Create a service account with the specified name.',
        'kubectl create serviceaccount NAME [--dry-run=server|client|none] [options]',
        aliases='serviceaccount, sa',
    ),
    'create secret docker-registry': Help(
        "Create a new secret for use with Docker registries.\n        \n        Dockercfg secrets are used to authenticate against Docker registries.\n        \n        When using the Docker command line to push images, you can authenticate to a given registry by running:\n        '$ docker login DOCKER_REGISTRY_SERVER --username=DOCKER_USER --password=DOCKER_PASSWORD --email=DOCKER_EMAIL'.\n        \n That produces a ~/.dockercfg file that is used by subsequent 'docker push' and 'docker pull' commands to authenticate to the registry. The email address is optional.",
        'kubectl create secret docker-registry NAME --docker-username=user --docker-password=password --docker-email=email [--docker-server=string] [--from-file=[key=]source] [--dry-run=server|client|none] [options]',
    ),
    'create secret tls': Help(
        'Create a TLS secret from the given public/private key pair.',
        'kubectl create secret tls NAME --cert=path/to/cert/file --key=path/to/key/file [--dry-run=server|client|none] [options]',
    ),
    'create service loadbalancer': Help(
        'Create a LoadBalancer service with the specified name.',
        'kubectl create service loadbalancer NAME [--tcp=port:targetPort] [--dry-run=server|client|none] [options]',
    ),
    'create service externalname': Help(
        'Create an ExternalName service with the specified name.',
        'kubectl create service externalname NAME --external-name external.name [--dry-run=server|client|none] [options]',
    ),
    'create priorityclass': Help(
        'Create a priority class with the specified name, value, globalDefault and description.',
        'kubectl create priorityclass NAME --value=VALUE --global-default=BOOL [--dry-run=server|client|none] [options]',
        aliases='priorityclass, pc',
    ),
    'create poddisruptionbudget': Help(
        'Create a pod disruption budget with the specified name, selector, and desired minimum available pods.',
        'kubectl create poddisruptionbudget NAME --selector=SELECTOR --min-available=N [--dry-run=server|client|none] [options]',
        aliases='poddisruptionbudget, pdb',
    ),
    'create quota': Help(
        'Create a resource quota with the specified name, hard limits, and optional scopes.',
        'kubectl create quota NAME [--hard=key1=value1,key2=value2] [--scopes=Scope1,Scope2] [--dry-run=server|client|none] [options]',
        aliases='quota, resourcequota',
    ),
    'get': Help(
        'Display one or many resources.',
        'kubectl get [(-o|--output=)json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file|custom-columns|custom-columns-file|wide] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags] [options]',
    ),
    'delete': Help(
        'Delete resources by file names, stdin, resources and names, or by resources and label selector.',
        'kubectl delete ([-f FILENAME] | [-k DIRECTORY] | TYPE [(NAME | -l label | --all)]) [options]',
    ),
    'describe': Help(
        'Show details of a specific resource or group of resources.',
        'kubectl describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME) [options]',
    ),
    'explain': Help(
        'Describe fields and structure of various resources.',
        'kubectl explain TYPE [--recursive=FALSE|TRUE] [--api-version=api-version-group] [-o|--output=plaintext|plaintext-openapiv2] [options]',
    ),
    'api-resources': Help(
        'Print the supported API resources on the server.',
        'kubectl api-resources [flags] [options]',
    ),
    'api-versions': Help(
        'Print the supported API versions on the server, in the form of "group/version".',
        'kubectl api-versions [options]',
    ),
    'cluster-info': Help(
        "Display addresses of the control plane and services with label kubernetes.io/cluster-service=true. To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.",
        'kubectl cluster-info [flags] [options]',
        commands=(
            ('dump', 'Dump relevant information for debugging and diagnosis'),
        ),
    ),
    'version': Help(
        'Print the client and server version information for the current context.',
        'kubectl version [flags] [options]',
    ),
    'config': Help(
        'Modify kubeconfig files using subcommands like "kubectl config set current-context my-context".',
        'kubectl config SUBCOMMAND [options]',
        commands=(
            ('current-context', 'Display the current-context'),
            ('delete-cluster', 'Delete the specified cluster from the kubeconfig'),
            ('delete-context', 'Delete the specified context from the kubeconfig'),
            ('delete-user', 'Delete the specified user from the kubeconfig'),
            ('get-clusters', 'Display clusters defined in the kubeconfig'),
            ('get-contexts', 'Describe one or many contexts'),
            ('get-users', 'Display users defined in the kubeconfig'),
            ('rename-context', 'Rename a context from the kubeconfig file'),
            ('set', 'Set an individual value in a kubeconfig file'),
            ('set-cluster', 'Set a cluster entry in kubeconfig'),
            ('set-context', 'Set a context entry in kubeconfig'),
            ('set-credentials', 'Set a user entry in kubeconfig'),
            ('unset', 'Unset an individual value in a kubeconfig file'),
            ('use-context', 'Set the current-context in a kubeconfig file'),
            ('view', 'Display merged kubeconfig settings or a specified kubeconfig file'),
        ),
    ),
    'config view': Help(
        'Display merged kubeconfig settings or a specified kubeconfig file.',
        'kubectl config view [flags] [options]',
    ),
    'config get-contexts': Help(
        'Display one or many contexts from the kubeconfig file.',
        'kubectl config get-contexts [(-o|--output=)name)] [options]',
    ),
    'config current-context': Help(
        'Display the current-context.',
        'kubectl config current-context [flags] [options]',
    ),
    'config set-context': Help(
        'Set a context entry in kubeconfig.',
        'kubectl config set-context [NAME | --current] [--cluster=cluster_nickname] [--user=user_nickname] [--namespace=namespace] [options]',
    ),
    'config use-context': Help(
        'Set the current-context in a kubeconfig file.',
        'kubectl config use-context CONTEXT_NAME [options]',
        aliases='use-context, use',
    ),
    'taint': Help(
        'Update the taints on one or more nodes.',
        'kubectl taint NODE NAME KEY_1=VAL_1:TAINT_EFFECT_1 ... KEY_N=VAL_N:TAINT_EFFECT_N [options]',
    ),
    'cordon': Help(
        'Mark node as unschedulable.',
        'kubectl cordon NODE [options]',
    ),
    'uncordon': Help(
        'Mark node as schedulable.',
        'kubectl uncordon NODE [options]',
    ),
    'drain': Help(
        'Drain node in preparation for maintenance.',
        'kubectl drain NODE [options]',
    ),
    'top': Help(
        'Display resource (CPU/memory) usage.',
        'kubectl top [flags] [options]',
        commands=(
            ('node', 'Display resource (CPU/memory) usage of nodes'),
            ('pod', 'Display resource (CPU/memory) usage of pods'),
        ),
    ),
    'top node': Help(
        'Display resource (CPU/memory) usage of nodes.',
        'kubectl top node [NAME | -l label] [options]',
        aliases='node, nodes, no',
    ),
    'top pod': Help(
        'Display resource (CPU/memory) usage of pods.',
        'kubectl top pod [NAME | -l label] [options]',
        aliases='pod, pods, po',
    ),
    'logs': Help(
        'Print the logs for a container in a pod or specified resource. If the pod has only one container, the container name is optional.',
        'kubectl logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER] [options]',
    ),
    'exec': Help(
        'Execute a command in a container.',
        'kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...] [options]',
    ),
    'run': Help(
        'Create and run a particular image in a pod.',
        'kubectl run NAME --image=image [--env="key=value"] [--port=port] [--dry-run=server|client] [--overrides=inline-json] [--command] -- [COMMAND] [args...] [options]',
    ),
    'attach': Help(
        'Attach to a process that is already running inside an existing container.',
        'kubectl attach (POD | TYPE/NAME) -c CONTAINER [options]',
    ),
    'port-forward': Help(
        'Forward one or more local ports to a pod.',
        'kubectl port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]',
    ),
    'rollout': Help(
        'Manage the rollout of one or many resources.\n        \n Valid resource types include:',
        'kubectl rollout SUBCOMMAND [options]',
        commands=(
            ('history', 'View rollout history'),
            ('pause', 'Mark the provided resource as paused'),
            ('restart', 'Restart a resource'),
            ('resume', 'Resume a paused resource'),
            ('status', 'Show the status of the rollout'),
            ('undo', 'Undo a previous rollout'),
        ),
    ),
    'rollout status': Help(
        'Show the status of the rollout.',
        'kubectl rollout status (TYPE NAME | TYPE/NAME) [flags] [options]',
    ),
    'rollout history': Help(
        'View previous rollout revisions and configurations.',
        'kubectl rollout history (TYPE NAME | TYPE/NAME) [flags] [options]',
    ),
    'rollout undo': Help(
        'Roll back to a previous rollout.',
        'kubectl rollout undo (TYPE NAME | TYPE/NAME) [flags] [options]',
    ),
    'rollout restart': Help(
        'Restart a resource.',
        'kubectl rollout restart RESOURCE [options]',
    ),
    'rollout pause': Help(
        'Mark the provided resource as paused.',
        'kubectl rollout pause RESOURCE [options]',
    ),
    'rollout resume': Help(
        'Resume a paused resource.',
        'kubectl rollout resume RESOURCE [options]',
    ),
    'wait': Help(
        'Experimental: Wait for a specific condition on one or many resources.',
        "kubectl wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=create|--for=delete|--for condition=available|--for=jsonpath='{}'[=value]] [options]",
    ),
    'scale': Help(
        'Set a new size for a deployment, replica set, replication controller, or stateful set.',
        'kubectl scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME) [options]',
    ),
    'set': Help(
        'Configure application resources.',
        'kubectl set SUBCOMMAND [options]',
        commands=(
            ('env', 'Update environment variables on a pod template'),
            ('image', 'Update the image of a pod template'),
            ('resources', 'Update resource requests/limits on objects with pod templates'),
            ('selector', 'Set the selector on a resource'),
            ('serviceaccount', 'Update the service account of a resource'),
            ('subject', 'Update the user, group, or service account in a role binding or cluster role binding'),
        ),
    ),
    'set env': Help(
        'Update environment variables on a pod template.',
        'kubectl set env RESOURCE/NAME KEY_1=VAL_1 ... KEY_N=VAL_N [options]',
    ),
    'set resources': Help(
        'Specify compute resource requirements (CPU, memory) for any resource that defines a pod template.  If a '
        'pod is successfully scheduled, it is guaranteed the amount of resource requested, but may burst up to its '
        'specified limits.',
        'kubectl set resources (-f FILENAME | TYPE NAME)  ([--limits=LIMITS & --requests=REQUESTS] [options]',
    ),
    'events': Help(
        'Display events.',
        'kubectl events [(-o|--output=)json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file] [--for TYPE/NAME] [--watch] [--types=Normal,Warning] [options]',
    ),
    'set serviceaccount': Help(
        'Update the service account of pod template resources.',
        'kubectl set serviceaccount (-f FILENAME | TYPE NAME) SERVICE_ACCOUNT [options]',
        aliases='serviceaccount, sa',
    ),
    'set image': Help(
        'Update existing container image(s) of resources.',
        'kubectl set image (-f FILENAME | TYPE NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... CONTAINER_NAME_N=CONTAINER_IMAGE_N [options]',
    ),
    'label': Help(
        'Update the labels on a resource.',
        'kubectl label [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version] [options]',
    ),
    'annotate': Help(
        'Update the annotations on one or more resources.',
        'kubectl annotate [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version] [options]',
    ),
    'expose': Help(
        'Expose a resource as a new Kubernetes service.',
        'kubectl expose (-f FILENAME | TYPE NAME) [--port=port] [--protocol=TCP|UDP|SCTP] [--target-port=number-or-name] [--name=name] [--external-ip=external-ip-of-service] [--type=type] [options]',
    ),
    'patch': Help(
        'Update fields of a resource using strategic merge patch, a JSON merge patch, or a JSON patch.',
        'kubectl patch (-f FILENAME | TYPE NAME) [-p PATCH|--patch-file FILE] [options]',
    ),
    'edit': Help(
        'Edit a resource from the default editor.',
        'kubectl edit (RESOURCE/NAME | -f FILENAME) [options]',
    ),
    'completion': Help(
        'Output shell completion code for the specified shell (bash, zsh, fish, or powershell). The shell code must be evaluated to provide interactive completion of kubectl commands.  This can be done by sourcing it from the .bash_profile.',
        'kubectl completion SHELL [options]',
    ),
}


def canonical(path: str) -> str:
    """``create deploy`` -> ``create deployment``: the path cobra prints in help and errors."""
    return " ".join(ALIASES.get(w, w) if i else w for i, w in enumerate(path.split()))



def root_usage() -> str:
    """The command list and usage of plain ``kubectl`` (what follows its two intro lines)."""
    width = max(len(n) for _, rows in ROOT_SECTIONS for n, _ in rows)
    sections = "".join(f"{title}:\n" + "".join(f"  {n.ljust(width)}   {s}\n" for n, s in rows) + "\n"
                       for title, rows in ROOT_SECTIONS)
    return (sections + "Usage:\n  kubectl [flags] [options]\n\n"
            'Use "kubectl <command> --help" for more information about a given command.\n' + OPTIONS_HINT)


def root_help() -> str:
    """``kubectl --help``."""
    return ("kubectl controls the Kubernetes cluster manager.\n\n"
            " Find more information at: https://kubernetes.io/docs/reference/kubectl/\n\n" + root_usage())


def help_text(path: str) -> str:
    """``kubectl <path> --help`` (reduced as the module docstring says)."""
    path = canonical(path)
    h = HELP.get(path)
    if h is None:
        return f"Usage:\n  kubectl {path} [options]\n\n" + OPTIONS_HINT
    parts = [h.summary]
    if h.aliases:
        parts.append(f"Aliases:\n{h.aliases}")
    if h.commands:
        width = max([11, *(len(n) for n, _ in h.commands)])
        parts.append("Available Commands:\n" + "\n".join(f"  {n.ljust(width)}   {s}" for n, s in h.commands))
    parts.append(f"Usage:\n  {h.usage}")
    more = f'Use "kubectl {path} <command> --help" for more information about a given command.\n' if h.commands else ""
    return "\n\n".join(parts) + "\n\n" + more + OPTIONS_HINT
