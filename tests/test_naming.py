"""Runs named by what differs between the runs compared, so that the IRNN and the tanh RNN read apart."""

from runner._config import naming

IRNN = ["cell=rnn", "cell.nonlinearity=relu", "cell.recurrent_init=identity", "data.seq_len=50"]
TANH = ["cell=rnn", "cell.nonlinearity=tanh", "cell.recurrent_init=default", "data.seq_len=50"]


def test_the_irnn_and_the_tanh_rnn_of_le_jaitly_hinton_2015_are_named_apart_by_their_options():
    assert naming.name(IRNN, [IRNN, TANH]) == "cell.nonlinearity=relu,cell.recurrent_init=identity"
    assert naming.name(TANH, [IRNN, TANH]) == "cell.nonlinearity=tanh,cell.recurrent_init=default"


def test_a_setting_every_job_shares_is_left_out_and_one_some_jobs_lack_is_kept():
    lstm = ["cell=lstm", "+cell.forget_bias=1", "data.seq_len=50"]
    assert naming.name(lstm, [IRNN, TANH, lstm]) == "cell=lstm,+cell.forget_bias=1"
    assert naming.name(["seed=0"], [["seed=0"], ["seed=1"]]) == "seed=0"


def test_without_a_comparison_every_override_but_the_preset_and_hydra_names_the_run():
    job = ["experiment=initialisations", "hydra.job.chdir=false", *IRNN]
    assert naming.name(job) == ",".join(IRNN)
    assert naming.name(["experiment=ptb_small"], default="lstm/ptb/clip_norm") == "lstm/ptb/clip_norm"
