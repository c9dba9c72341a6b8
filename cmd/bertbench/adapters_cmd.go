package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/runners"
	"github.com/bertbench/bertbench/runners/ollama"
)

// adaptersCommand is `bertbench adapters`: register LoRA
// fine-tunes in Ollama and list what is registered. Its help and messages
// name the command by its place in the tree, so it works unchanged as a
// top-level `bertbench adapters`.
func adaptersCommand() *cli.Command {
	host := &cli.StringFlag{Name: "host", Usage: "Ollama server `URL` (default $OLLAMA_HOST, else http://127.0.0.1:11434)"}
	return &cli.Command{
		Name:  "adapters",
		Usage: "register fine-tuned models (base model + LoRA adapter) in Ollama, and list them",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "register base model + LoRA adapter under a new name",
				ArgsUsage: "--name NAME --base MODEL --adapter PATH [--host URL]",
				Description: `PATH is a GGUF LoRA adapter file (llama.cpp's convert_lora_to_gguf.py
writes one), or a PEFT folder with adapter_config.json and
adapter_model.safetensors (Ollama converts it; llama and gemma2 bases). The
adapter is uploaded to the server and the model created through its API; it
is then runner spec ollama:NAME. Registering an existing name replaces it.
What is not an adapter for the base (a missing or non-GGUF file, a GGUF
whose general.type is not "adapter", such as the base model's own file, or
an adapter for another architecture) is refused with exit status 2, and so
is a model the server registered without the adapter (it is removed).`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Usage: "new model `NAME`, e.g. llama2-zh-ft", Required: true},
					&cli.StringFlag{Name: "base", Usage: "base `MODEL` on the server, e.g. llama2:13b", Required: true},
					&cli.StringFlag{Name: "adapter", Usage: "adapter `PATH` (GGUF file or PEFT folder)", Required: true, TakesFile: true},
					&cli.StringFlag{Name: "system", Usage: "system prompt `TEXT` stored with the model"},
					host,
				},
				Action: func(c *cli.Context) error {
					srv, err := ollama.NewServer(c.String("host"), nil)
					if err != nil {
						return asUsage(err)
					}
					info, err := srv.RegisterAdapter(c.Context, ollama.AdapterRequest{
						Name: c.String("name"), Base: c.String("base"), Adapter: c.String("adapter"), System: c.String("system"),
					}, func(status string) { fmt.Fprintf(c.App.ErrWriter, "adapters: %s\n", status) })
					if errors.Is(err, runners.ErrInvalidInput) {
						// The adapter file, or what the server made of it.
						return asUsage(fmt.Errorf("adapters create: %w", err))
					}
					if err != nil {
						return fmt.Errorf("adapters create: %w", err)
					}
					fmt.Fprintf(c.App.Writer, "registered %s (digest %s): use --runner ollama:%s\n", info.Name, shortDigest(info.Digest), c.String("name"))
					return nil
				},
			},
			{
				Name:      "list",
				Usage:     "list the server's models, marking fine-tunes (models with an adapter)",
				ArgsUsage: "[--host URL] [--json] [--all]",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "all", Usage: "list every model, not only those with an adapter"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON"},
					host,
				},
				Action: func(c *cli.Context) error {
					srv, err := ollama.NewServer(c.String("host"), nil)
					if err != nil {
						return asUsage(err)
					}
					models, err := srv.List(c.Context)
					if err != nil {
						return fmt.Errorf("adapters list: %w", err)
					}
					var shown []ollama.ModelInfo
					for _, m := range models {
						if c.Bool("all") || len(m.Adapters) > 0 {
							shown = append(shown, m)
						}
					}
					if c.Bool("json") {
						enc := json.NewEncoder(c.App.Writer)
						enc.SetIndent("", "  ")
						if shown == nil {
							shown = []ollama.ModelInfo{}
						}
						return enc.Encode(shown)
					}
					tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tADAPTERS\tFAMILY\tPARAMETERS\tDIGEST\tMODIFIED")
					for _, m := range shown {
						fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", m.Name, len(m.Adapters), dash(m.Family), dash(m.Parameters),
							shortDigest(m.Digest), m.ModifiedAt.Format("2006-01-02 15:04"))
					}
					if err := tw.Flush(); err != nil {
						return err
					}
					if len(shown) == 0 {
						create := strings.TrimSuffix(c.Command.HelpName, " list") + " create"
						fmt.Fprintf(c.App.ErrWriter, "adapters: no fine-tuned models on %s (register one with `%s`; --all lists every model)\n", srv.URL(), create)
					}
					return nil
				},
			},
		},
	}
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
