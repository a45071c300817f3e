// Package cli implements the lightbox subcommands. Each command is a
// function from arguments and output streams to an exit code, so tests can
// run them in-process.
package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/lightbox-pacs/lightbox/internal/version"
)

// Command is one subcommand.
type Command struct {
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the subcommand table; files of this package add to it in init.
var commands = map[string]Command{}

func register(name string, c Command) {
	if _, dup := commands[name]; dup {
		panic("cli: command registered twice: " + name)
	}
	commands[name] = c
}

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "lightbox: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return c.Run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Lightbox: an open-source PACS.\n\nUsage: lightbox COMMAND [options]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w, "\nRun 'lightbox COMMAND -h' for a command's options.")
}

func init() {
	register("version", Command{Summary: "print the version", Run: func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		fmt.Fprintln(stdout, "lightbox", version.String())
		return 0
	}})
}
