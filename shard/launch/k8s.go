package launch

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// K8sSpec holds the Kubernetes-only parts of a Spec.
type K8sSpec struct {
	// Image is the container image holding bertbench (and the ONNX
	// Runtime library it loads). Required.
	Image string
	// Namespace of both Jobs; empty: kubectl's current namespace.
	Namespace string
	// PVC is the PersistentVolumeClaim holding the plan folder (the plan,
	// its inputs' copies the shards read, the shard files and the merged
	// results); every pod mounts it at MountPath. With more than one shard
	// running at once on several nodes it must be ReadWriteMany. Required.
	PVC string
	// MountPath is where the claim is mounted in the pods; Spec.Plan and
	// Spec.MergeOut lie under it. Required, absolute.
	MountPath string
	// BackoffLimitPerIndex is how many times one failed shard is retried
	// before the Job gives it up (the other shards go on); the merge Job's
	// backoffLimit too.
	BackoffLimitPerIndex int32
	// CPU and Memory are every shard pod's requests (Kubernetes quantities:
	// "4", "500m", "16Gi"); Memory is its limit too. Empty: none.
	CPU, Memory string
}

// The files Kubernetes gets, relative to the plan's folder.
const (
	K8sScoreJob = "k8s-score-job.yaml"
	K8sMergeJob = "k8s-merge-job.yaml"
)

// GPUResource is the extended resource a shard asks one of with Spec.GPU
// (NVIDIA's device plugin).
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// volumeName names the plan volume in the pods.
const volumeName = "plan"

// KubernetesJobs builds the two Jobs: the Indexed Job that scores the shards
// (completionMode Indexed, completions N, parallelism K,
// backoffLimitPerIndex; Kubernetes sets JOB_COMPLETION_INDEX in each pod,
// which `score --shard-from-env` reads) and the merge Job, to be created once
// the first one is complete.
func KubernetesJobs(s Spec) (score, merge *batchv1.Job, err error) {
	s, err = s.normalized()
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkK8s(); err != nil {
		return nil, nil, err
	}
	k := s.K8s
	var env []corev1.EnvVar
	for _, e := range s.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	mounts := []corev1.VolumeMount{{Name: volumeName, MountPath: path.Clean(k.MountPath)}}
	volumes := []corev1.Volume{{
		Name: volumeName,
		VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: k.PVC},
		},
	}}

	var res corev1.ResourceRequirements
	if k.CPU != "" || k.Memory != "" {
		res.Requests = corev1.ResourceList{}
	}
	if k.CPU != "" {
		res.Requests[corev1.ResourceCPU] = resource.MustParse(k.CPU) // checked by checkK8s
	}
	if k.Memory != "" || s.GPU {
		res.Limits = corev1.ResourceList{}
	}
	if k.Memory != "" {
		q := resource.MustParse(k.Memory)
		res.Requests[corev1.ResourceMemory] = q
		res.Limits[corev1.ResourceMemory] = q
	}
	if s.GPU {
		res.Limits[GPUResource] = resource.MustParse("1")
	}

	meta := func(name, component string) metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name:      name,
			Namespace: k.Namespace,
			Labels: map[string]string{
				"app.kubernetes.io/name":      "bertbench",
				"app.kubernetes.io/instance":  s.JobName,
				"app.kubernetes.io/component": component,
			},
		}
	}
	podMeta := func(component string) metav1.ObjectMeta {
		m := meta("", component)
		m.Namespace = ""
		return m
	}
	indexed := batchv1.IndexedCompletion
	n, parallel, backoff := int32(s.Shards), int32(s.Parallel), k.BackoffLimitPerIndex
	score = &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(s.JobName, "score"),
		Spec: batchv1.JobSpec{
			CompletionMode:       &indexed,
			Completions:          &n,
			Parallelism:          &parallel,
			BackoffLimitPerIndex: &backoff,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: podMeta("score"),
				Spec: corev1.PodSpec{
					// Never: backoffLimitPerIndex needs it, and a failed
					// shard is retried in a new pod.
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:         "score",
						Image:        k.Image,
						Command:      s.scoreCommand(),
						Env:          env,
						Resources:    res,
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	one := int32(1)
	merge = &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(s.JobName+"-merge", "merge"),
		Spec: batchv1.JobSpec{
			Completions:  &one,
			Parallelism:  &one,
			BackoffLimit: &backoff,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: podMeta("merge"),
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:         "merge",
						Image:        k.Image,
						Command:      s.mergeCommand(),
						Env:          env,
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	return score, merge, nil
}

// Kubernetes renders KubernetesJobs as two YAML manifests for the plan's
// folder, k8s-score-job.yaml and k8s-merge-job.yaml. Apply the first, wait
// for it (`kubectl wait --for=condition=complete job/NAME`), then apply the
// second; docs/scale.md has the commands.
func Kubernetes(s Spec) ([]File, error) {
	score, merge, err := KubernetesJobs(s)
	if err != nil {
		return nil, err
	}
	s, _ = s.normalized()
	ns := ""
	if s.K8s.Namespace != "" {
		ns = " -n " + s.K8s.Namespace
	}
	scoreYAML, err := manifest(score, []string{
		fmt.Sprintf("Indexed Job for bertbench plan %s: %d shards, at most %d at once.", s.Plan, s.Shards, s.Parallel),
		"Each pod scores shard $JOB_COMPLETION_INDEX. Then:",
		fmt.Sprintf("  kubectl%s wait --for=condition=complete --timeout=24h job/%s", ns, score.Name),
		fmt.Sprintf("  kubectl%s apply -f %s", ns, K8sMergeJob),
	})
	if err != nil {
		return nil, err
	}
	mergeYAML, err := manifest(merge, []string{
		fmt.Sprintf("Merges the shards of bertbench plan %s; apply it once job/%s is complete.", s.Plan, score.Name),
	})
	if err != nil {
		return nil, err
	}
	return []File{
		{Name: K8sScoreJob, Data: scoreYAML, Mode: 0o644},
		{Name: K8sMergeJob, Data: mergeYAML, Mode: 0o644},
	}, nil
}

// manifest serialises job as YAML after comment lines, leaving out the
// fields a client never sets (status, creationTimestamp).
func manifest(job *batchv1.Job, comments []string) ([]byte, error) {
	raw, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("encode job %s: %w", job.Name, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("encode job %s: %w", job.Name, err)
	}
	delete(obj, "status")
	dropTimestamp(obj)
	if spec, ok := obj["spec"].(map[string]any); ok {
		if tmpl, ok := spec["template"].(map[string]any); ok {
			dropTimestamp(tmpl)
		}
	}
	y, err := yaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode job %s as YAML: %w", job.Name, err)
	}
	var b strings.Builder
	b.WriteString("# Generated by `bertbench plan --emit k8s`.\n")
	for _, c := range comments {
		b.WriteString("# " + c + "\n")
	}
	b.Write(y)
	return []byte(b.String()), nil
}

// dropTimestamp removes metadata.creationTimestamp (null) from obj.
func dropTimestamp(obj map[string]any) {
	if m, ok := obj["metadata"].(map[string]any); ok {
		delete(m, "creationTimestamp")
	}
}

// checkK8s checks the Kubernetes-only fields.
func (s Spec) checkK8s() error {
	k := s.K8s
	if k.Image == "" {
		return inputErrorf("no container image: give the image holding bertbench")
	}
	if k.PVC == "" {
		return inputErrorf("no volume: give the PersistentVolumeClaim holding the plan folder")
	}
	if !jobNameRE.MatchString(k.PVC) && !dnsSubdomain(k.PVC) {
		return inputErrorf("volume claim name %q: use lower-case letters, digits, '-' and '.'", k.PVC)
	}
	if k.Namespace != "" && !jobNameRE.MatchString(k.Namespace) {
		return inputErrorf("namespace %q: use lower-case letters, digits and '-'", k.Namespace)
	}
	if !path.IsAbs(k.MountPath) {
		return inputErrorf("mount path %q: give the absolute path the volume is mounted at in the pods", k.MountPath)
	}
	mount := path.Clean(k.MountPath)
	for _, p := range []struct{ what, path string }{{"plan", s.Plan}, {"merge output", s.MergeOut}} {
		if p.what == "merge output" && p.path == "" {
			return inputErrorf("no merge output: give the file under %s the merge Job writes", mount)
		}
		if !under(p.path, mount) {
			return inputErrorf("%s %q is not under the volume's mount path %s: the pods would not see it", p.what, p.path, mount)
		}
	}
	if k.BackoffLimitPerIndex < 0 {
		return inputErrorf("backoff limit per index %d: give 0 or more", k.BackoffLimitPerIndex)
	}
	for _, q := range []struct{ what, v string }{{"CPU", k.CPU}, {"memory", k.Memory}} {
		if q.v == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.v); err != nil {
			return inputErrorf("%s request %q is not a Kubernetes quantity (e.g. 4, 500m, 16Gi)", q.what, q.v)
		}
	}
	return nil
}

// under reports whether p is dir or inside it (both cleaned, absolute).
func under(p, dir string) bool {
	if !path.IsAbs(p) {
		return false
	}
	p = path.Clean(p)
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// dnsSubdomain reports whether s is a DNS subdomain (RFC 1123): dot-separated
// labels, at most 253 characters.
func dnsSubdomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if len(l) > 63 || !jobNameRE.MatchString(l) {
			return false
		}
	}
	return true
}
