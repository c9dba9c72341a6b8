package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bertbench/bertbench/internal/cpus"
	"github.com/bertbench/bertbench/internal/outfile"
	"github.com/bertbench/bertbench/shard"
	"github.com/bertbench/bertbench/shard/launch"
)

// emitEngines are plan --emit's values.
var emitEngines = []string{"slurm", "k8s", "local"}

// emitFlags are plan's launcher flags: which engine, and what it needs.
// The flags of one engine given with another (or without --emit) are
// refused, so that a typo does not go unnoticed.
func emitFlags(jobEnv *stringList) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "emit", Usage: "then hand the plan to `ENGINE`: slurm (write an sbatch job array and merge job into DIR), k8s (write a Kubernetes Indexed Job and merge Job into DIR) or local (score the shards here, then merge)"},
		&cli.IntFlag{Name: "parallel", Usage: "with --emit: at most `K` shards at once (default: all; local: one per GPU, or one per 4 CPUs)"},
		&cli.StringFlag{Name: "merge-format", Value: "text", Usage: "with --emit: the merge's output `FORMAT`: " + strings.Join(launch.MergeFormats, ", ")},
		&cli.StringFlag{Name: "merge-out", Usage: "with --emit: where the merge writes, `FILE` (default DIR/merged.FORMAT; local: standard output)", TakesFile: true},
		&cli.StringFlag{Name: "job-dir", Usage: "with --emit slurm|k8s: the plan's folder `DIR` as the jobs see it (default: --out's absolute path)"},
		&cli.StringFlag{Name: "job-name", Usage: "with --emit slurm|k8s: the jobs' `NAME` (NAME and NAME-merge; default bertbench)"},
		&cli.StringFlag{Name: "bertbench", Usage: "with --emit slurm|k8s: bertbench's `PATH` on the nodes or in the image (default: this program's path for Slurm, bertbench for k8s)"},
		&cli.GenericFlag{Name: "job-env", Usage: "with --emit slurm|k8s: set `KEY=VALUE` in every job (repeat for more)", Value: jobEnv},
		&cli.StringFlag{Name: "slurm-partition", Usage: "with --emit slurm: sbatch --partition `NAME`"},
		&cli.StringFlag{Name: "slurm-account", Usage: "with --emit slurm: sbatch --account `NAME`"},
		&cli.StringFlag{Name: "slurm-time", Usage: "with --emit slurm: sbatch --time `LIMIT` (e.g. 02:00:00)"},
		&cli.StringFlag{Name: "slurm-mem", Usage: "with --emit slurm: sbatch --mem `SIZE` for each shard (e.g. 16G)"},
		&cli.IntFlag{Name: "slurm-cpus-per-task", Usage: "with --emit slurm: sbatch --cpus-per-task `N` for each shard"},
		&cli.StringFlag{Name: "image", Usage: "with --emit k8s: the container `IMAGE` holding bertbench"},
		&cli.StringFlag{Name: "pvc", Usage: "with --emit k8s: the PersistentVolumeClaim `NAME` holding the plan folder and its inputs"},
		&cli.StringFlag{Name: "mount", Usage: "with --emit k8s: where the pods mount the claim, `PATH` (the plan's folder is under it)"},
		&cli.StringFlag{Name: "namespace", Usage: "with --emit k8s: the Jobs' `NAMESPACE` (default: kubectl's)"},
		&cli.IntFlag{Name: "backoff-limit-per-index", Value: 3, Usage: "with --emit k8s: retries `N` of one failed shard (and of the merge)"},
		&cli.StringFlag{Name: "k8s-cpu", Usage: "with --emit k8s: each shard pod's CPU request `Q` (e.g. 4)"},
		&cli.StringFlag{Name: "k8s-memory", Usage: "with --emit k8s: each shard pod's memory request and limit `Q` (e.g. 16Gi)"},
		&cli.StringFlag{Name: "gpus", Usage: "with --emit local and --device cuda: the GPUs `LIST` to run shards on, one shard per GPU at a time (default $CUDA_VISIBLE_DEVICES, else 0)"},
	}
}

// emitOnly maps each engine-specific flag to the engines that take it.
var emitOnly = map[string][]string{
	"parallel": emitEngines, "merge-format": emitEngines, "merge-out": emitEngines,
	"job-dir": {"slurm", "k8s"}, "job-name": {"slurm", "k8s"}, "bertbench": {"slurm", "k8s"}, "job-env": {"slurm", "k8s"},
	"slurm-partition": {"slurm"}, "slurm-account": {"slurm"}, "slurm-time": {"slurm"}, "slurm-mem": {"slurm"}, "slurm-cpus-per-task": {"slurm"},
	"image": {"k8s"}, "pvc": {"k8s"}, "mount": {"k8s"}, "namespace": {"k8s"}, "backoff-limit-per-index": {"k8s"},
	"k8s-cpu": {"k8s"}, "k8s-memory": {"k8s"},
	"gpus": {"local"},
}

// checkEmitFlags checks the launcher flags before planning, so that a
// mistake is told before the inputs are read.
func checkEmitFlags(cCtx *cli.Context, jobEnv []string) error {
	engine := cCtx.String("emit")
	if engine != "" && !slices.Contains(emitEngines, engine) {
		return usagef("plan: unknown --emit %q (want one of %s)", engine, strings.Join(emitEngines, ", "))
	}
	names := make([]string, 0, len(emitOnly))
	for name := range emitOnly {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !cCtx.IsSet(name) || slices.Contains(emitOnly[name], engine) {
			continue
		}
		if engine == "" {
			return usagef("plan: --%s goes with --emit %s", name, strings.Join(emitOnly[name], "|"))
		}
		return usagef("plan: --%s does not go with --emit %s (only with --emit %s)", name, engine, strings.Join(emitOnly[name], "|"))
	}
	if cCtx.Int("parallel") < 0 {
		return usagef("plan: --parallel must be positive")
	}
	if f := cCtx.String("merge-format"); !slices.Contains(launch.MergeFormats, f) {
		return usagef("plan: unknown --merge-format %q (want one of %s)", f, strings.Join(launch.MergeFormats, ", "))
	}
	for _, kv := range jobEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usagef("plan: --job-env %q: want KEY=VALUE", kv)
		}
	}
	if engine == "k8s" {
		for _, name := range []string{"image", "pvc", "mount"} {
			if cCtx.String(name) == "" {
				return usagef("plan: --emit k8s needs --%s (and --image, --pvc, --mount)", name)
			}
		}
	}
	if engine == "slurm" || engine == "k8s" {
		// A dry run on a plan of one shard: the spec's mistakes are told
		// before the inputs are read.
		dir, err := filepath.Abs(cCtx.String("out"))
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		if _, _, err := renderLaunchers(cCtx, baseSpec(cCtx, 1, false, jobEnv), dir); err != nil {
			return err
		}
	}
	if cCtx.Int("backoff-limit-per-index") < 0 {
		return usagef("plan: --backoff-limit-per-index must not be negative")
	}
	if engine == "local" && cCtx.IsSet("merge-out") {
		if out := cCtx.String("merge-out"); out != "-" {
			if err := outfile.Check(out); err != nil {
				return asUsage(fmt.Errorf("plan: --merge-out: %w", err))
			}
		}
	}
	return nil
}

// emitPlan hands the plan written to the --emit engine: the launcher files
// into the plan's folder (slurm, k8s), or the shards and merge run here
// (local).
func emitPlan(cCtx *cli.Context, p *shard.Plan, jobEnv []string) error {
	s := baseSpec(cCtx, p.NumShards(), p.DeviceKind() == "cuda", jobEnv)
	if dev := p.Device(); s.GPU && dev != "cuda" && dev != "cuda:0" {
		// Each shard sees the one GPU it is given (Slurm's gres,
		// Kubernetes' device plugin, CUDA_VISIBLE_DEVICES here) as
		// device 0. --device drops the plan's --tf32 unless given again.
		s.ScoreArgs = []string{"--device", "cuda"}
		if p.Scoring.TF32 {
			s.ScoreArgs = append(s.ScoreArgs, "--tf32")
		}
	}
	if cCtx.String("emit") == "local" {
		return emitLocal(cCtx, p, s)
	}
	s, files, err := renderLaunchers(cCtx, s, p.Dir())
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		name := filepath.Join(p.Dir(), f.Name)
		if err := outfile.WriteFile(name, f.Data, fs.FileMode(f.Mode)); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		names = append(names, name)
	}
	w := cCtx.App.Writer
	fmt.Fprintf(w, "wrote %s\n", strings.Join(names, ", "))
	switch cCtx.String("emit") {
	case "slurm":
		fmt.Fprintf(w, "submit: sh %s   (the array, then the merge after it; results: %s)\n", names[2], s.MergeOut)
		if s.Shards > slurmDefaultMaxArraySize-1 {
			fmt.Fprintf(cCtx.App.ErrWriter, "bertbench: warning: %d shards: Slurm refuses an array larger than its MaxArraySize (%d by default, see scontrol show config): raise it, or plan fewer shards (--shards or a larger --shard-size)\n", s.Shards, slurmDefaultMaxArraySize)
		}
	case "k8s":
		ns := ""
		if s.K8s.Namespace != "" {
			ns = " -n " + s.K8s.Namespace
		}
		name := orDefault(s.JobName, launch.DefaultJobName)
		fmt.Fprintf(w, "with %s on claim %s at %s: kubectl%s apply -f %s && kubectl%s wait --for=condition=complete --timeout=24h job/%s && kubectl%s apply -f %s   (results: %s; a failed Job never completes: docs/scale.md waits for either)\n",
			p.Dir(), s.K8s.PVC, path.Dir(s.Plan), ns, names[0], ns, name, ns, names[1], s.MergeOut)
	}
	return nil
}

// slurmDefaultMaxArraySize is Slurm's default MaxArraySize: an array's
// indices must be below it.
const slurmDefaultMaxArraySize = 1001

// baseSpec is the launcher spec the flags give for a plan of n shards.
func baseSpec(cCtx *cli.Context, n int, gpu bool, jobEnv []string) launch.Spec {
	s := launch.Spec{
		Shards:      n,
		Parallel:    cCtx.Int("parallel"),
		GPU:         gpu,
		MergeFormat: cCtx.String("merge-format"),
		MergeOut:    cCtx.String("merge-out"),
		JobName:     cCtx.String("job-name"),
		Binary:      cCtx.String("bertbench"),
	}
	for _, kv := range jobEnv {
		k, v, _ := strings.Cut(kv, "=")
		s.Env = append(s.Env, launch.EnvVar{Name: k, Value: v})
	}
	return s
}

// renderLaunchers fills in the Slurm or Kubernetes parts of s for the plan
// folder dir (as this machine sees it) and renders the launcher files.
func renderLaunchers(cCtx *cli.Context, s launch.Spec, dir string) (launch.Spec, []launch.File, error) {
	engine := cCtx.String("emit")
	jobDir := cCtx.String("job-dir")
	if jobDir == "" {
		jobDir = filepath.ToSlash(dir)
		if mount := path.Clean(cCtx.String("mount")); engine == "k8s" && !strings.HasPrefix(jobDir+"/", mount+"/") {
			return s, nil, usagef("plan: --emit k8s: give --job-dir, the plan folder's path in the pods (under --mount %s), e.g. %s", mount, path.Join(mount, filepath.Base(dir)))
		}
	}
	s.Plan = path.Join(jobDir, shard.PlanFile)
	if s.MergeOut == "" {
		s.MergeOut = path.Join(jobDir, "merged."+mergeExt(s.MergeFormat))
	}
	var files []launch.File
	var err error
	switch engine {
	case "slurm":
		if s.Binary == "" {
			if s.Binary, err = os.Executable(); err != nil {
				return s, nil, fmt.Errorf("plan: find this program for the Slurm jobs (give --bertbench PATH): %w", err)
			}
		}
		s.Slurm = launch.SlurmSpec{Partition: cCtx.String("slurm-partition"), Account: cCtx.String("slurm-account"),
			Time: cCtx.String("slurm-time"), Mem: cCtx.String("slurm-mem"), CPUsPerTask: cCtx.Int("slurm-cpus-per-task")}
		files, err = launch.Slurm(s)
	case "k8s":
		s.K8s = launch.K8sSpec{Image: cCtx.String("image"), PVC: cCtx.String("pvc"), MountPath: cCtx.String("mount"),
			Namespace: cCtx.String("namespace"), BackoffLimitPerIndex: int32(min(cCtx.Int("backoff-limit-per-index"), 1<<20)),
			CPU: cCtx.String("k8s-cpu"), Memory: cCtx.String("k8s-memory")}
		files, err = launch.Kubernetes(s)
	}
	if err != nil {
		return s, nil, launchErr(err)
	}
	return s, files, nil
}

// emitLocal runs the shards as processes of this program, then the merge.
func emitLocal(cCtx *cli.Context, p *shard.Plan, s launch.Spec) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("plan: find this program to run the shards: %w", err)
	}
	s.Binary, s.Plan = self, p.Path()
	if s.MergeOut == "-" {
		s.MergeOut = ""
	}
	if lib := cCtx.String("ort-lib"); lib != "" {
		s.Env = append(s.Env, launch.EnvVar{Name: "BERTBENCH_ORT_LIB", Value: lib})
	}
	if ep := cCtx.String("cuda-ep"); ep != "" {
		s.Env = append(s.Env, launch.EnvVar{Name: "BERTBENCH_CUDA_EP", Value: ep})
	}
	o := launch.LocalOptions{Stdout: cCtx.App.Writer, Stderr: cCtx.App.ErrWriter}
	if s.GPU {
		list := cCtx.String("gpus")
		if list == "" {
			list = os.Getenv("CUDA_VISIBLE_DEVICES")
		}
		if list == "" {
			list = "0"
		}
		for g := range strings.SplitSeq(list, ",") {
			if g = strings.TrimSpace(g); g != "" {
				o.GPUs = append(o.GPUs, g)
			}
		}
		if s.Parallel == 0 {
			s.Parallel = len(o.GPUs)
		}
	} else {
		o.CPUs = cpus.Usable()
		if t := cCtx.Int("threads"); t > 0 {
			o.CPUs = t
		}
		if s.Parallel == 0 {
			s.Parallel = max(1, min(s.Shards, o.CPUs/4))
		}
	}
	errw := cCtx.App.ErrWriter
	o.Progress = func(done, total int) {
		fmt.Fprintf(errw, "bertbench: %d of %d shards done\n", done, total)
	}
	if err := launch.RunLocal(cCtx.Context, s, o); err != nil {
		if errors.Is(err, launch.ErrInvalidInput) {
			return launchErr(err)
		}
		return classifyErr("plan --emit local", err)
	}
	return nil
}

// launchErr is a launcher's error as plan's: bad input exits 2.
func launchErr(err error) error {
	if errors.Is(err, launch.ErrInvalidInput) {
		return asUsage(fmt.Errorf("plan: --emit: %w", err))
	}
	return fmt.Errorf("plan: --emit: %w", err)
}

// mergeExt is the merged file's extension for a merge format.
func mergeExt(format string) string {
	if format == "text" {
		return "txt"
	}
	return format
}

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
