package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/models"
	"github.com/bertbench/bertbench/models/hub"
)

// modelsCommand groups the model management subcommands: import, pull,
// list, info, rm, synth and validate.
func modelsCommand() *cli.Command {
	return &cli.Command{
		Name:  "models",
		Usage: "build, download and manage BERTScore encoder models",
		Description: "Encoders are built in Go from Hugging Face checkpoints (config.json, model.safetensors, tokenizer.json), " +
			"cut at the layer BERTScore uses, and written as ONNX. Pulled models live in the cache " +
			"($BERTBENCH_CACHE, else $XDG_CACHE_HOME/bertbench) and work offline afterwards.",
		Subcommands: []*cli.Command{
			withInterspersedFlags(modelsImportCommand(), "output"),
			withInterspersedFlags(modelsPullCommand()),
			modelsListCommand(),
			withInterspersedFlags(modelsInfoCommand()),
			withInterspersedFlags(modelsRmCommand()),
			modelsSynthCommand(),
			withInterspersedFlags(modelsValidateCommand()),
		},
	}
}

// newCacheDirFlag is the --cache-dir flag of the subcommands that use the cache.
func newCacheDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "cache-dir", Usage: "cache root `DIR`, shared by models (DIR/models) and responses (DIR/responses) (default: $" + models.EnvCache + ", else $XDG_CACHE_HOME/bertbench)", EnvVars: []string{models.EnvCache}, TakesFile: true}
}

// modelsCache opens the cache named by --cache-dir or the default.
func modelsCache(c *cli.Context) (*models.Cache, error) {
	dir := c.String("cache-dir")
	if dir == "" {
		var err error
		if dir, err = models.DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	cache := models.NewCache(dir)
	cache.Log = c.App.ErrWriter
	cache.Producer = "bertbench " + version
	client := hub.NewClient()
	client.Progress = c.App.ErrWriter
	client.Terminal = isTerminal(c.App.ErrWriter)
	cache.Hub = client
	return cache, nil
}

// newLayerFlag is -1 when not given (the known model's default).
func newLayerFlag() cli.Flag {
	return &cli.IntFlag{Name: "layer", Value: -1, Usage: "keep `N` encoder layers (0 = embedding output); default: the known model's layer"}
}

func modelsImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "build an ONNX encoder from a local Hugging Face checkpoint folder",
		ArgsUsage: "CHECKPOINT_DIR",
		Flags: append([]cli.Flag{
			newLayerFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "model folder `DIR` to write (model.onnx, tokenizer.json, bertbench.json); required", TakesFile: true},
			&cli.StringFlag{Name: "name", Usage: "model `NAME` for the manifest (a known name also gives the default layer and baselines)"},
			&cli.StringFlag{Name: "lang", Usage: "language `CODE` the model is for (selects its rescale baseline)"},
			&cli.StringFlag{Name: "repo", Usage: "record the Hub `REPO` the checkpoint came from"},
			&cli.StringFlag{Name: "revision", Usage: "record the checkpoint's `REVISION`"},
			&cli.StringFlag{Name: "baseline", Usage: "rescale baseline `FILE` (LAYER,P,R,F, as bert_score's rescale_baseline files): its row for the layer goes into the manifest, for --lang", TakesFile: true},
		}, newBuildPrecisionFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("models import: want one CHECKPOINT_DIR (got %d arguments)", c.NArg())
			}
			precision, err := buildPrecision(c, "models import")
			if err != nil {
				return err
			}
			start := time.Now()
			fmt.Fprintf(c.App.ErrWriter, "building %s from %s ...\n", filepath.Join(c.String("output"), models.ONNXFile), c.Args().First())
			m, err := models.Import(c.Context, c.Args().First(), c.String("output"), models.ImportOptions{
				Layer: c.Int("layer"), Precision: precision, Name: c.String("name"), Lang: c.String("lang"),
				Repo: c.String("repo"), Revision: c.String("revision"), Producer: "bertbench " + version,
				BaselineFile: c.String("baseline"),
			})
			if err != nil {
				return modelsError("models import", err)
			}
			fmt.Fprintf(c.App.Writer, "built %s: %s, layer %d of %d, hidden %d, %s, in %s (%s)\n",
				c.String("output"), m.Name, m.Layer, m.TotalLayers, m.HiddenSize, m.Precision,
				time.Since(start).Round(time.Millisecond), hub.HumanBytes(models.DirSize(c.String("output"))))
			return nil
		},
	}
}

func modelsPullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "download a model from the Hugging Face Hub and build its encoder (HF_ENDPOINT, HF_TOKEN honoured)",
		ArgsUsage: "NAME[@REVISION] (a known name, or OWNER/NAME with --layer)",
		Flags: append([]cli.Flag{
			newLayerFlag(),
			newCacheDirFlag(),
		}, newBuildPrecisionFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("models pull: want one NAME[@REVISION] (got %d arguments)", c.NArg())
			}
			precision, err := buildPrecision(c, "models pull")
			if err != nil {
				return err
			}
			cache, err := modelsCache(c)
			if err != nil {
				return err
			}
			r, err := cache.Pull(c.Context, c.Args().First(), models.PullOptions{Layer: c.Int("layer"), Precision: precision})
			if err != nil {
				return modelsError("models pull", err)
			}
			fmt.Fprintf(c.App.Writer, "%s ready in %s\n", r.Name, r.Dir)
			return nil
		},
	}
}

func modelsListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list cached models (or, with --known, the models bertbench knows by name)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "known", Usage: "list the known models with their default layers and baselines"},
			newCacheDirFlag(),
		},
		Action: func(c *cli.Context) error {
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			if c.Bool("known") {
				defaults := map[string][]string{}
				for _, lang := range []string{"zh", "en"} {
					defaults[models.DefaultModelForLang(lang)] = append(defaults[models.DefaultModelForLang(lang)], lang)
				}
				defaults[models.DefaultModel] = append(defaults[models.DefaultModel], "other languages")
				fmt.Fprintln(tw, "NAME\tHUB REPO\tLAYER\tTOKENIZER\tBASELINES\tDEFAULT FOR")
				for _, k := range models.Known() {
					fmt.Fprintf(tw, "%s\t%s\t%d of %d\t%s\t%s\t%s\n", k.Name, k.Repo, k.Layer, k.TotalLayers, k.Tokenizer,
						strings.Join(models.BaselineLangs(k.Name), ","), strings.Join(defaults[k.Name], ", "))
				}
				return tw.Flush()
			}
			cache, err := modelsCache(c)
			if err != nil {
				return err
			}
			list, err := cache.List()
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "no models in %s: `bertbench models pull NAME` downloads one (`bertbench models list --known` lists names)\n", cache.Root)
				return nil
			}
			fmt.Fprintln(tw, "NAME\tREVISION\tLAYER\tPRECISION\tSIZE\tFOLDER")
			for _, m := range list {
				if m.Problem != nil {
					fmt.Fprintf(c.App.ErrWriter, "warning: %v (`bertbench models rm %s@%s` removes it)\n", m.Problem, m.Name, m.Revision)
				}
				layer, prec := "?", "?"
				if m.Manifest != nil {
					layer = fmt.Sprintf("%d of %d", m.Manifest.Layer, m.Manifest.TotalLayers)
					prec = m.Manifest.Precision
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Revision, layer, prec, hub.HumanBytes(m.Size), m.Dir)
			}
			return tw.Flush()
		},
	}
}

func modelsInfoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "describe a model: cached NAME[@REVISION], known name or folder",
		ArgsUsage: "NAME|DIR",
		Flags:     []cli.Flag{newCacheDirFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("models info: want one NAME or DIR (got %d arguments)", c.NArg())
			}
			cache, err := modelsCache(c)
			if err != nil {
				return err
			}
			spec := c.Args().First()
			w := c.App.Writer
			r, err := cache.Resolve(c.Context, spec, "")
			if err != nil {
				if k, ok := models.LookupKnown(spec); ok && !modelsCached(cache, spec) {
					fmt.Fprintf(w, "%s (known, not downloaded)\n  hub repo: %s\n  layer: %d of %d\n  tokenizer: %s\n  baselines: %s\n  download: bertbench models pull %s\n",
						k.Name, k.Repo, k.Layer, k.TotalLayers, k.Tokenizer, strings.Join(models.BaselineLangs(k.Name), ", "), k.Name)
					return nil
				}
				return modelsError("models info", err)
			}
			fmt.Fprintf(w, "%s\n  folder: %s (%s)\n", r.Name, r.Dir, hub.HumanBytes(models.DirSize(r.Dir)))
			if m := r.Manifest; m != nil {
				fmt.Fprintf(w, "  architecture: %s, layer %d of %d, hidden %d, max length %d, %s\n", m.Architecture, m.Layer, m.TotalLayers, m.HiddenSize, m.MaxLength, m.Precision)
				fmt.Fprintf(w, "  tokenizer: %s\n", m.Tokenizer)
				if m.Lang != "" {
					fmt.Fprintf(w, "  language: %s\n", m.Lang)
				}
				if m.Synthetic {
					fmt.Fprintln(w, "  synthetic: random weights (benchmarks only)")
				}
				if s := m.Source; s != nil {
					if s.Repo != "" {
						fmt.Fprintf(w, "  source: %s@%s\n", s.Repo, s.Revision)
					}
					names := make([]string, 0, len(s.Files))
					for f := range s.Files {
						names = append(names, f)
					}
					sort.Strings(names)
					for _, f := range names {
						fmt.Fprintf(w, "    %s sha256 %s\n", f, s.Files[f])
					}
				}
				if len(m.Baselines) > 0 {
					langs := make([]string, 0, len(m.Baselines))
					for l := range m.Baselines {
						langs = append(langs, l)
					}
					sort.Strings(langs)
					fmt.Fprintf(w, "  baselines (layer %d): %s\n", m.Layer, strings.Join(langs, ", "))
				}
			} else {
				fmt.Fprintf(w, "  no %s: layer and baseline unknown\n", models.ManifestFile)
			}
			sig, err := models.ValidateONNX(r.Dir)
			if err != nil {
				return asUsage(err)
			}
			fmt.Fprintf(w, "  graph: output %s (%s), token_type_ids %v\n", sig.Output, sig.OutputType, sig.TokenTypeIDs)
			return nil
		},
	}
}

// modelsCached reports whether spec names a model in the cache (a broken
// one included).
func modelsCached(cache *models.Cache, spec string) bool {
	cm, err := cache.Find(spec)
	return err != nil || cm != nil
}

func modelsRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Usage:     "remove a cached model and its downloaded checkpoint",
		ArgsUsage: "NAME[@REVISION]",
		Flags:     []cli.Flag{newCacheDirFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("models rm: want one NAME[@REVISION] (got %d arguments)", c.NArg())
			}
			cache, err := modelsCache(c)
			if err != nil {
				return err
			}
			removed, err := cache.Remove(c.Args().First())
			if err != nil {
				return modelsError("models rm", err)
			}
			for _, d := range removed {
				fmt.Fprintf(c.App.Writer, "removed %s\n", d)
			}
			return nil
		},
	}
}

func modelsSynthCommand() *cli.Command {
	return &cli.Command{
		Name:  "synth",
		Usage: "write a random-weight model of real size (for benchmarks), with its Hugging Face checkpoint and a generated tokenizer",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "arch", Value: "bert", Usage: "architecture (bert)"},
			&cli.IntFlag{Name: "hidden", Value: 768, Usage: "hidden size"},
			&cli.IntFlag{Name: "layers", Value: 12, Usage: "encoder layers in the checkpoint"},
			&cli.IntFlag{Name: "heads", Value: 12, Usage: "attention heads"},
			&cli.IntFlag{Name: "intermediate", Value: 3072, Usage: "feed-forward size"},
			&cli.IntFlag{Name: "vocab", Value: 119547, Usage: "vocabulary size (the generated WordPiece vocabulary has exactly this many entries)"},
			&cli.IntFlag{Name: "keep", Value: 9, Usage: "layer the encoder is cut at"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "folder `DIR` to write", Required: true, TakesFile: true},
		}, newBuildPrecisionFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usagef("models synth: unexpected arguments %v", c.Args().Slice())
			}
			precision, err := buildPrecision(c, "models synth")
			if err != nil {
				return err
			}
			start := time.Now()
			out := c.String("output")
			opts := models.SynthOptions{
				Arch: c.String("arch"), Hidden: c.Int("hidden"), Layers: c.Int("layers"), Heads: c.Int("heads"),
				Intermediate: c.Int("intermediate"), Vocab: c.Int("vocab"), Keep: c.Int("keep"), Seed: c.Uint64("seed"),
				Precision: precision, Producer: "bertbench " + version,
			}
			st, onnx := models.SynthSize(opts)
			fmt.Fprintf(c.App.ErrWriter, "writing random weights and building %s: about %s (model.safetensors %s, model.onnx %s; smaller with --hidden, --layers, --vocab) ...\n",
				out, hub.HumanBytes(st+onnx), hub.HumanBytes(st), hub.HumanBytes(onnx))
			m, err := models.Synth(c.Context, out, opts)
			if err != nil {
				return modelsError("models synth", err)
			}
			fmt.Fprintf(c.App.Writer, "built %s in %s: %s at layer %d of %d (model.onnx %s, model.safetensors %s)\n",
				out, time.Since(start).Round(time.Millisecond), m.Name, m.Layer, m.TotalLayers,
				hub.HumanBytes(modelsFileSize(filepath.Join(out, models.ONNXFile))), hub.HumanBytes(modelsFileSize(filepath.Join(out, "model.safetensors"))))
			return nil
		},
	}
}

func modelsValidateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check that a folder's model.onnx has the inputs and output bertbench needs",
		ArgsUsage: "DIR",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("models validate: want one DIR (got %d arguments)", c.NArg())
			}
			dir := c.Args().First()
			if _, err := models.ResolveDir(dir); err != nil {
				return asUsage(err)
			}
			sig, err := models.ValidateONNX(dir)
			if err != nil {
				return asUsage(err)
			}
			fmt.Fprintf(c.App.Writer, "%s: ok (output %s %s, hidden %d, token_type_ids %v)\n", dir, sig.Output, sig.OutputType, sig.HiddenSize, sig.TokenTypeIDs)
			return nil
		},
	}
}

// modelsError makes the models package's input errors (and the Hub's
// "no such repo" and "not authorised") usage errors, exit 2; anything else
// (a full disk, a lost connection) stays a runtime failure, exit 1.
func modelsError(command string, err error) error {
	if errors.Is(err, models.ErrInvalidInput) || errors.Is(err, hub.ErrNotFound) || errors.Is(err, hub.ErrUnauthorized) {
		return asUsage(fmt.Errorf("%s: %w", command, err))
	}
	return fmt.Errorf("%s: %w", command, err)
}

func modelsFileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
