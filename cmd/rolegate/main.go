// Command rolegate is the self-service IAM role broker: one binary with
// subcommands for the server, migrations, a local development setup and
// the tools around them. Run `rolegate help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errAlreadyReported) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "rolegate:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		var exit errExitCode
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		os.Exit(1)
	}
}

// errAlreadyReported is returned by a command that has already told the
// user what went wrong, so main exits non-zero without printing again.
var errAlreadyReported = errors.New("already reported")

// cli is what every subcommand gets from run: its arguments after the
// subcommand name, the environment lookup and the output streams.
type cli struct {
	args   []string
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, c cli) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":            {"run the HTTP server and the worker", cmdServe},
		"worker":           {"run only the job worker (to scale out)", cmdWorker},
		"drift":            {"compare active roles in IAM with their plans (and repair them)", cmdDrift},
		"export-terraform": {"write the Terraform of every active role to a directory", cmdExportTerraform},
		"dev":              {"run everything locally: a private PostgreSQL, migrations and the server", cmdDev},
		"migrate":          {"apply (up) or show (status) database migrations", cmdMigrate},
		"audit":            {"verify the audit trail's hash chain", cmdAudit},
		"token":            {"create, list and revoke API tokens", cmdToken},
		"sessions":         {"list browser sessions and end a user's", cmdSessions},
		"version":          {"print the version", cmdVersion},
		"iam-local":        {"serve the local IAM endpoint for development and tests", cmdIAMLocal},
		"render":           {"render the plan, policies and Terraform of a role spec", cmdRender},
		"service-policy":   {"print the least-privilege IAM policy rolegate itself needs", cmdServicePolicy},
		"bench":            {"measure provisioning throughput against its ideal and print a table", cmdBench},
	}
}

// run is the whole program: main only wires the process to it, and tests
// call it directly. args[0] is the program name.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		// No command is a mistake, as in go and git: a script that left
		// it out must not carry on as if something ran.
		usage(stderr)
		return errExitCode{code: 2, err: errors.New("no command given")}
	}
	if args[1] == "help" || args[1] == "-h" || args[1] == "--help" {
		usage(stdout)
		return nil
	}
	cmd, ok := commands()[args[1]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[1])
	}
	return cmd.run(ctx, cli{args: args[2:], getenv: getenv, stdout: stdout, stderr: stderr})
}

func usage(w io.Writer) {
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("rolegate: self-service EC2 instance roles for S3 buckets.\n\nUsage: rolegate <command> [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-17s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun `rolegate <command> --help` for the flags of a command.\n")
	io.WriteString(w, b.String())
}
