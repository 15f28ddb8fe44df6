package main

import (
	"errors"
	"fmt"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/verify"
)

// ppcieCheckID is the check --ppcie adds to every GPU and switch submodule.
const ppcieCheckID = "ppcie.topology"

// checkPPCIe checks, for --ppcie, that the verified GPUs and switches of out
// form one protected-PCIe system (gpu.CheckPPCIeTopology), and records the
// result as a check of every GPU and switch submodule: a topology that does
// not hold (a swapped GPU, a missing switch) makes each of them
// contraindicated. Devices that failed verification leave no claims to
// check: the topology then cannot hold either.
func checkPPCIe(out *verify.Outcome) error {
	var gpus, switches []*gpu.DeviceClaims
	var subs []*verify.SubmodOutcome
	var failed []string
	for _, s := range out.Submods {
		if s.Format != verify.FormatGPU && s.Format != verify.FormatNVSwitch {
			continue
		}
		subs = append(subs, s)
		c, ok := s.Claims.(*gpu.Claims)
		if !ok {
			failed = append(failed, s.Name)
			continue
		}
		for _, d := range c.Devices {
			if d.Arch.IsSwitch() {
				switches = append(switches, d)
			} else {
				gpus = append(gpus, d)
			}
		}
	}
	if len(subs) == 0 {
		return errors.New("--ppcie: no GPU or switch evidence given")
	}
	var err error
	if len(failed) > 0 {
		err = verify.Errorf(verify.ErrPolicy, "PPCIe topology: %v failed verification", failed)
	} else {
		err = gpu.CheckPPCIeTopology(gpus, switches)
	}
	c := verify.Check{ID: ppcieCheckID, Title: "one protected-PCIe system: 8 GPUs and 4 switches linked by their attested PDIs", OK: err == nil,
		Category: ear.Configuration}
	if err != nil {
		c.Reason = err.Error()
		c.Value = ear.UnsupportableConfig
	} else {
		c.Reason = fmt.Sprintf("%d GPUs and %d switches, every PDI cross-link checked", len(gpus), len(switches))
	}
	for _, s := range subs {
		if s.Policy != nil {
			s.Policy.Checks = append(s.Policy.Checks, c)
		}
		if err != nil {
			s.Appraisal.TrustVector[ear.Configuration] = ear.UnsupportableConfig
			s.Appraisal.Status = ear.StatusContraindicated
		}
	}
	out.Result.UpdateStatus()
	return nil
}
