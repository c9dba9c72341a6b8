package pricing

import (
	"context"

	"github.com/bertbench/bertbench/runners"
)

// Wrap returns r with every successful result priced from t, whatever the
// runner kind and whether or not the result came from the response cache:
// CostUSD is what the call that produced the output costs at t's prices
// (nil when t has no price for the model), never a figure stored under
// another table. The model is looked up by the name in r's spec, then by
// the name the server reported.
func Wrap(r runners.Runner, t Table) runners.Runner {
	p := &priced{inner: r, table: t}
	if sp, err := runners.ParseSpec(r.Spec()); err == nil {
		p.model = sp.Model
	}
	return p
}

type priced struct {
	inner runners.Runner
	table Table
	model string
}

// Spec returns the wrapped runner's spec.
func (p *priced) Spec() string { return p.inner.Spec() }

// ModelDigest forwards to the wrapped runner.
func (p *priced) ModelDigest(ctx context.Context) (string, error) {
	return runners.Digest(ctx, p.inner)
}

// MaxConcurrency forwards to the wrapped runner.
func (p *priced) MaxConcurrency() int { return runners.MaxConcurrency(p.inner) }

// Preflight forwards to the wrapped runner.
func (p *priced) Preflight(ctx context.Context) error { return runners.Preflight(ctx, p.inner) }

// Run calls the wrapped runner and prices a successful result.
func (p *priced) Run(ctx context.Context, req runners.Request) (runners.Result, error) {
	res, err := p.inner.Run(ctx, req)
	if err != nil {
		return res, err
	}
	res.CostUSD = nil
	if p.model != "" {
		res.CostUSD = p.table.Cost(p.model, res.PromptTokens, res.CompletionTokens)
	}
	if res.CostUSD == nil && res.Model != "" {
		res.CostUSD = p.table.Cost(res.Model, res.PromptTokens, res.CompletionTokens)
	}
	return res, nil
}
