// kubectl, built from the published k8s.io/kubectl module at the version this wrapper module
// pins. Same body as upstream's cmd/kubectl/kubectl.go: Debian's kubectl (1.20) is far outside
// kubectl's one-minor version skew with the kube-apiserver built next to it.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Client auth plugins (exec, OIDC), as upstream's kubectl links them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		// Pretty-print the error and exit with an error.
		util.CheckErr(err)
	}
}
