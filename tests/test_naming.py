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


def test_a_report_names_each_cell_by_its_settings_that_differ_between_runs_of_that_cell():
    irnn = {"hidden_size": 32, "nonlinearity": "relu", "recurrent_init": "identity"}
    tanh = {"hidden_size": 32, "nonlinearity": "tanh", "recurrent_init": "default"}
    lstm = {"hidden_size": 32, "forget_bias": 1.0}
    names = naming.option_names([("rnn", irnn), ("rnn", tanh), ("lstm", lstm), ("lstm", lstm)])
    assert names == [
        "rnn (nonlinearity=relu, recurrent_init=identity)",
        "rnn (nonlinearity=tanh, recurrent_init=default)",
        "lstm",
        "lstm",
    ]
    assert naming.option(names[0]) == "rnn"
