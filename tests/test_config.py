"The seed experiment: the Hydrogen Torch YAML loads into exactly it (`load_config('seed')`), the recipe is `Config()`; bad keys and values are refused"
import pytest, yaml
from pathlib import Path
from defect_nb.core import Config, ConfigError, SEED_YAML, shared_dir
from defect_nb.hydrogen import from_ht, load_config

SHARED = (shared_dir() or Path(__file__).parent/'no-shared-folder')/'seed'/'hydrogen_torch_experiment.yaml'  # $DEFECT_NB_SHARED, else shared/ beside the checkout

@pytest.mark.skipif(not SHARED.exists(), reason='the shared folder (shared_dir) has no seed/')
def test_shared_yaml_is_the_seed_config():
    assert SHARED.read_text() == SEED_YAML.read_text(), 'the shipped seed YAML must be the verbatim shared one'
    assert load_config(SHARED, verbose=False) == load_config('seed', verbose=False)

def test_seed_values():
    c = load_config('seed', verbose=False)
    assert (c.head, c.label_smoothing, c.class_balance, c.tta) == ('Linear', 0.0, 'none', []) # not set by its YAML: not the recipe's
    assert (c.arch, c.pretrained, c.dropout, c.pool) == ('timm/resnet50', False, 0.2, 'Average') # Hydrogen Torch builds backbones with timm
    assert (c.img_height, c.img_width, c.normalization, c.augmentation) == (224, 224, 'Channel', 'Soft')
    assert (c.optimizer, c.lr, c.wd, c.schedule, c.bs, c.drop_last, c.epochs) == ('AdamW', 1e-3, 0.0, 'cosine', 32, True, 5)
    assert (c.precision, c.folds, c.metric, c.seed) == ('auto', [4], 'F1', -1)

@pytest.mark.parametrize('section,key,value,msg', [
    ('training', 'optimizer', 'Lion', 'optimizer'),
    ('training', 'learnin_rate', 0.1, 'did you mean `training.learning_rate`'),
    ('architecture', 'pool', 'Max', 'pool'),
    ('dataset', 'validation_strategy', 'custom holdout', 'only k-fold'),
    ('image', 'image_normalization', 'Weird', 'normalization'),
    ('training', 'epochs', 'five', 'epochs'),
])
def test_bad_ht_key_or_value(tmp_path, section, key, value, msg):
    d = yaml.safe_load(SEED_YAML.read_text())
    d[section][key] = value
    p = tmp_path/'exp.yaml'; p.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError, match=msg.replace('(', r'\(')) as e: load_config(p, verbose=False)
    assert '\n' not in str(e.value)

def test_recipe_is_the_default():
    c = Config()
    assert load_config(verbose=False) == c and c != load_config('seed', verbose=False)
    assert (c.arch, c.pretrained, c.head, c.img_height, c.epochs, c.schedule, c.tta) == ('timm/resnet50', False, 'fastai', 128, 18, 'one_cycle', ['dihedral'])

def test_own_yaml_and_overrides(tmp_path):
    p = tmp_path/'c.yaml'; p.write_text('epochs: 2\nschedule: one_cycle\n')
    c = load_config(p, lr=0.01)
    assert (c.epochs, c.schedule, c.lr) == (2, 'one_cycle', 0.01)
    p.write_text('epoch: 2\n')
    with pytest.raises(ConfigError, match='did you mean `epochs`'): load_config(p)
