package launch

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name.golden (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, p, got, want)
	}
}

func gpuSpec() Spec {
	return Spec{
		Plan: "/data/sweep/plan.json", Shards: 8, Parallel: 2, GPU: true,
		Binary:      "/opt/bertbench/bin/bertbench",
		ScoreArgs:   []string{"--device", "cuda"},
		Env:         []EnvVar{{"BERTBENCH_ORT_LIB", "/opt/ort/lib/libonnxruntime.so.1"}, {"NOTE", "it's quoted"}},
		MergeFormat: "jsonl", MergeOut: "/data/sweep/merged.jsonl", JobName: "sweep-7",
		Slurm: SlurmSpec{Partition: "gpu", Account: "mt", CPUsPerTask: 8, Mem: "32G", Time: "04:00:00"},
		K8s: K8sSpec{Image: "registry.example.com/bertbench:1.4", Namespace: "mt", PVC: "sweep-data",
			MountPath: "/data", BackoffLimitPerIndex: 3, CPU: "8", Memory: "32Gi"},
	}
}

func cpuSpec() Spec {
	return Spec{
		Plan: "/data/plan.json", Shards: 3,
		K8s: K8sSpec{Image: "bertbench:dev", PVC: "scores", MountPath: "/data/"},
		// Kubernetes needs a merge output under the mount.
		MergeOut: "/data/merged.txt",
	}
}

func TestSlurm_Golden(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{{"gpu", gpuSpec()}, {"cpu", cpuSpec()}} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Slurm(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 3 {
				t.Fatalf("%d files, want 3", len(files))
			}
			dir := t.TempDir()
			for _, f := range files {
				golden(t, "slurm-"+tc.name+"/"+f.Name, f.Data)
				if f.Mode != 0o755 {
					t.Errorf("%s: mode %o, want 755", f.Name, f.Mode)
				}
				// Every script parses as POSIX sh.
				p := filepath.Join(dir, f.Name)
				if err := os.WriteFile(p, f.Data, 0o755); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
					t.Errorf("sh -n %s: %v\n%s", f.Name, err, out)
				}
			}
		})
	}
}

func TestSlurm_Directives(t *testing.T) {
	for _, tc := range []struct {
		name       string
		spec       func() Spec
		want, none []string
	}{
		{"array with a limit", gpuSpec, []string{"#SBATCH --array=0-7%2\n", "#SBATCH --gres=gpu:1\n", "#SBATCH --job-name=sweep-7\n",
			"#SBATCH --output=/data/sweep/slurm-sweep-7-%A_%a.out\n", "--shard-from-env"}, nil},
		{"all at once", cpuSpec, []string{"#SBATCH --array=0-2\n", "#SBATCH --job-name=bertbench\n", "exec bertbench score --plan /data/plan.json --shard-from-env\n"},
			[]string{"gres", "%3"}},
		{"one shard", func() Spec { s := cpuSpec(); s.Shards, s.Parallel = 1, 1; return s }, []string{"#SBATCH --array=0-0\n"}, []string{"%1"}},
		{"parallel above shards", func() Spec { s := cpuSpec(); s.Parallel = 9; return s }, []string{"#SBATCH --array=0-2\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Slurm(tc.spec())
			if err != nil {
				t.Fatal(err)
			}
			score := string(files[0].Data)
			for _, w := range tc.want {
				if !strings.Contains(score, w) {
					t.Errorf("score script lacks %q:\n%s", w, score)
				}
			}
			for _, n := range tc.none {
				if strings.Contains(score, n) {
					t.Errorf("score script holds %q:\n%s", n, score)
				}
			}
			merge, submit := string(files[1].Data), string(files[2].Data)
			if !strings.Contains(merge, "--kill-on-invalid-dep=yes") || strings.Contains(merge, "gres") {
				t.Errorf("merge script:\n%s", merge)
			}
			if !strings.Contains(submit, `--dependency=afterok:"$array"`) || !strings.Contains(submit, "sbatch --parsable") {
				t.Errorf("submit script:\n%s", submit)
			}
		})
	}
}

func TestKubernetes_Golden(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{{"gpu", gpuSpec()}, {"cpu", cpuSpec()}} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Kubernetes(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 2 || files[0].Name != K8sScoreJob || files[1].Name != K8sMergeJob {
				t.Fatalf("files %v", files)
			}
			for _, f := range files {
				golden(t, "k8s-"+tc.name+"/"+f.Name, f.Data)
			}
		})
	}
}

// decodeJob decodes a manifest strictly (an unknown field fails) into a
// batch/v1 Job.
func decodeJob(t *testing.T, data []byte) *batchv1.Job {
	t.Helper()
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		t.Fatalf("decode into batch/v1 Job: %v\n%s", err, data)
	}
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		t.Fatalf("apiVersion %q kind %q", job.APIVersion, job.Kind)
	}
	return &job
}

func TestKubernetes_DecodesIntoJobs(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{{"gpu", gpuSpec()}, {"cpu", cpuSpec()}} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			files, err := Kubernetes(s)
			if err != nil {
				t.Fatal(err)
			}
			score, merge := decodeJob(t, files[0].Data), decodeJob(t, files[1].Data)
			name := s.JobName
			if name == "" {
				name = DefaultJobName
			}
			parallel := s.Parallel
			if parallel == 0 {
				parallel = s.Shards
			}
			sp := score.Spec
			switch {
			case score.Name != name || score.Namespace != s.K8s.Namespace:
				t.Errorf("score job %s/%s", score.Namespace, score.Name)
			case sp.CompletionMode == nil || *sp.CompletionMode != batchv1.IndexedCompletion:
				t.Errorf("completionMode %v, want Indexed", sp.CompletionMode)
			case sp.Completions == nil || int(*sp.Completions) != s.Shards:
				t.Errorf("completions %v, want %d", sp.Completions, s.Shards)
			case sp.Parallelism == nil || int(*sp.Parallelism) != parallel:
				t.Errorf("parallelism %v, want %d", sp.Parallelism, parallel)
			case sp.BackoffLimitPerIndex == nil || *sp.BackoffLimitPerIndex != s.K8s.BackoffLimitPerIndex:
				t.Errorf("backoffLimitPerIndex %v, want %d", sp.BackoffLimitPerIndex, s.K8s.BackoffLimitPerIndex)
			case sp.Template.Spec.RestartPolicy != corev1.RestartPolicyNever:
				t.Errorf("restartPolicy %q, want Never (backoffLimitPerIndex needs it)", sp.Template.Spec.RestartPolicy)
			}
			for _, job := range []*batchv1.Job{score, merge} {
				pod := job.Spec.Template.Spec
				if len(pod.Containers) != 1 || len(pod.Volumes) != 1 {
					t.Fatalf("%s: %d containers, %d volumes", job.Name, len(pod.Containers), len(pod.Volumes))
				}
				c, v := pod.Containers[0], pod.Volumes[0]
				if c.Image != s.K8s.Image {
					t.Errorf("%s: image %q", job.Name, c.Image)
				}
				if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != s.K8s.PVC {
					t.Errorf("%s: volume %+v, want claim %s", job.Name, v, s.K8s.PVC)
				}
				if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != v.Name || !under(s.Plan, filepath.Clean(c.VolumeMounts[0].MountPath)) {
					t.Errorf("%s: mounts %+v do not hold the plan %s", job.Name, c.VolumeMounts, s.Plan)
				}
				if len(c.Env) != len(s.Env) {
					t.Errorf("%s: env %v, want %v", job.Name, c.Env, s.Env)
				}
			}
			cmd := strings.Join(sp.Template.Spec.Containers[0].Command, " ")
			if !strings.Contains(cmd, " score --plan "+s.Plan+" --shard-from-env") {
				t.Errorf("score command %q", cmd)
			}
			gpu, hasGPU := sp.Template.Spec.Containers[0].Resources.Limits[GPUResource]
			if s.GPU != hasGPU || (hasGPU && !gpu.Equal(resource.MustParse("1"))) {
				t.Errorf("GPU limit %v (present %v), want one GPU: %v", gpu, hasGPU, s.GPU)
			}
			mcmd := merge.Spec.Template.Spec.Containers[0].Command
			if merge.Name != name+"-merge" || merge.Spec.CompletionMode != nil || *merge.Spec.Completions != 1 ||
				mcmd[len(mcmd)-1] != s.Plan || !strings.Contains(strings.Join(mcmd, " "), " merge --format ") {
				t.Errorf("merge job %s: %+v, command %q", merge.Name, merge.Spec, mcmd)
			}
		})
	}
}

func TestSpec_Invalid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Spec)
		render func(Spec) error
		want   string
	}{
		{"no plan", func(s *Spec) { s.Plan = "" }, slurmErr, "no plan path"},
		{"no shards", func(s *Spec) { s.Shards = 0 }, slurmErr, "0 shards"},
		{"negative parallel", func(s *Spec) { s.Parallel = -1 }, k8sErr, "parallel -1"},
		{"bad format", func(s *Spec) { s.MergeFormat = "xml" }, slurmErr, `merge format "xml"`},
		{"bad job name", func(s *Spec) { s.JobName = "My_Job" }, k8sErr, `job name "My_Job"`},
		{"long job name", func(s *Spec) { s.JobName = strings.Repeat("a", 58) }, k8sErr, "at most 57"},
		{"bad env name", func(s *Spec) { s.Env = []EnvVar{{"1X", "v"}} }, slurmErr, `variable name "1X"`},
		{"newline in plan", func(s *Spec) { s.Plan = "/data/a\nb/plan.json" }, slurmErr, "newline"},
		{"slurm relative plan", func(s *Spec) { s.Plan = "sweep/plan.json" }, slurmErr, "relative"},
		{"slurm space in folder", func(s *Spec) { s.Plan = "/data/my sweep/plan.json" }, slurmErr, "holds a space"},
		{"slurm percent in folder", func(s *Spec) { s.Plan = "/data/100%/plan.json" }, slurmErr, "holds a space"},
		{"slurm bad partition", func(s *Spec) { s.Slurm.Partition = "gpu a" }, slurmErr, "Slurm partition"},
		{"k8s no image", func(s *Spec) { s.K8s.Image = "" }, k8sErr, "no container image"},
		{"k8s no pvc", func(s *Spec) { s.K8s.PVC = "" }, k8sErr, "no volume"},
		{"k8s bad pvc", func(s *Spec) { s.K8s.PVC = "Data_1" }, k8sErr, `claim name "Data_1"`},
		{"k8s relative mount", func(s *Spec) { s.K8s.MountPath = "data" }, k8sErr, "mount path"},
		{"k8s plan outside mount", func(s *Spec) { s.K8s.MountPath = "/scratch" }, k8sErr, "not under the volume's mount path /scratch"},
		{"k8s plan in a sibling", func(s *Spec) { s.K8s.MountPath = "/dat" }, k8sErr, "not under"},
		{"k8s no merge output", func(s *Spec) { s.MergeOut = "" }, k8sErr, "no merge output"},
		{"k8s bad cpu", func(s *Spec) { s.K8s.CPU = "lots" }, k8sErr, `CPU request "lots"`},
		{"k8s negative backoff", func(s *Spec) { s.K8s.BackoffLimitPerIndex = -1 }, k8sErr, "backoff limit"},
		{"k8s bad namespace", func(s *Spec) { s.K8s.Namespace = "ML" }, k8sErr, `namespace "ML"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := gpuSpec()
			tc.edit(&s)
			err := tc.render(s)
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalidInput with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func slurmErr(s Spec) error { _, err := Slurm(s); return err }
func k8sErr(s Spec) error   { _, err := Kubernetes(s); return err }

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/data/plan.json": "/data/plan.json",
		"":                "''",
		"a b":             "'a b'",
		"it's":            `'it'\''s'`,
		"$HOME":           "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
		// The shell reads back what was quoted.
		out, err := exec.Command("sh", "-c", "printf %s "+shellQuote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh read %q back as %q (%v)", in, out, err)
		}
	}
}

// TestSlurm_SubmitScriptNeverExpandsThePath: the merge output's path is
// printed by the submit script, never run: a $(...) or a backtick in it
// stays text.
func TestSlurm_SubmitScriptNeverExpandsThePath(t *testing.T) {
	dir := t.TempDir()
	s := cpuSpec()
	s.MergeOut = "/data/$(touch " + dir + "/ran)`touch " + dir + "/ran2`$HOME.txt"
	files, err := Slurm(s)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, f := range files {
		for _, l := range strings.Split(string(f.Data), "\n") {
			if strings.Contains(l, "merged results") {
				line = l
			}
		}
	}
	if line == "" {
		t.Fatal("no line printing the merged results' path in the Slurm files")
	}
	out, err := exec.Command("bash", "-c", "array=1; merge=2; "+line).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", line, err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Errorf("the submit script ran a command from the path: %s", line)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran2")); err == nil {
		t.Errorf("the submit script ran a command from the path: %s", line)
	}
	if !strings.Contains(string(out), s.MergeOut) {
		t.Errorf("printed %q, want the path %q as it is", out, s.MergeOut)
	}
}
